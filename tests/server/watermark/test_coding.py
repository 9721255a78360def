"""Error-correcting code and payload tag."""

from __future__ import annotations

import numpy as np

from server.watermark.coding import CODED_BITS, INFO_BITS, encode, tag, viterbi


def test_viterbi_corrects_noise_and_erasures() -> None:
    rng = np.random.default_rng(3)
    info = rng.integers(0, 2, INFO_BITS).astype(np.uint8)
    coded = encode(info)
    assert coded.size == CODED_BITS
    soft = (2.0 * coded - 1.0) + rng.normal(0.0, 0.9, CODED_BITS)
    soft[rng.choice(CODED_BITS, CODED_BITS // 4, replace=False)] = 0.0
    assert np.array_equal(viterbi(soft), info)


def test_tag_depends_on_key_and_payload() -> None:
    assert tag(b"a" * 32, bytes(8)) != tag(b"b" * 32, bytes(8))
    assert tag(b"a" * 32, bytes(8)) != tag(b"a" * 32, bytes(7) + b"\x01")
    assert len(tag(b"a" * 32, bytes(8))) == 4
