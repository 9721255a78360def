"""The embedded engines' profile format: round trip, and clear refusals of damaged data."""

from __future__ import annotations

import numpy as np
import pytest

from server.engines.profile_codec import pack_profile, unpack_profile
from server.errors import FailedPrecondition


def test_a_profile_round_trips_with_float32_arrays() -> None:
    arrays = {"mean": np.array([1.5, -2.25]), "std": np.ones((2, 3))}
    meta, back = unpack_profile(pack_profile(3, {"variant": "m1"}, arrays), 3, "embedded")
    assert meta == {"variant": "m1", "format": 3}
    assert set(back) == {"mean", "std"} and back["mean"].dtype == np.float64
    np.testing.assert_array_equal(back["mean"], [1.5, -2.25])


@pytest.mark.parametrize("data", [b"", b"not a zip archive", b"PK\x03\x04broken"])
def test_damaged_bytes_are_refused_naming_the_engine(data: bytes) -> None:
    with pytest.raises(FailedPrecondition, match="stored embedded-neural voice profile is corrupt"):
        unpack_profile(data, 1, "embedded-neural")


def test_another_format_is_refused_with_what_to_do() -> None:
    with pytest.raises(FailedPrecondition, match="format 2 is not supported.*enroll the voice again"):
        unpack_profile(pack_profile(2, {}, {}), 1, "embedded")
