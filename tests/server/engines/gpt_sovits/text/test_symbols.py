"""The v2 phone table: its size, its order (pinned by sha256) and the id look-ups."""

from __future__ import annotations

import hashlib

import pytest

from server.engines.gpt_sovits.text.symbols import (
    SYMBOL_TO_ID,
    SYMBOLS,
    expand,
    ids_to_phones,
    phones_to_ids,
)
from server.errors import InvalidArgument

# sha256 of the official v2 table joined by newlines (recorded from the official code).
OFFICIAL_SHA256 = "0771f6cd6f6201e8c2b0de921dc69cc04caf3f346c599d4a41413967d5674da7"


def test_the_table_is_the_official_one() -> None:
    assert len(SYMBOLS) == 732 == len(SYMBOL_TO_ID)
    assert hashlib.sha256("\n".join(SYMBOLS).encode()).hexdigest() == OFFICIAL_SHA256


def test_known_ids_and_round_trip() -> None:
    assert SYMBOLS[0] == "!" and SYMBOL_TO_ID["_"] < SYMBOL_TO_ID["a1"]
    phones = ["n", "i2", "h", "ao3", ",", "HH", "AH0", "L", "OW1", "."]
    assert ids_to_phones(phones_to_ids(phones)) == phones
    with pytest.raises(InvalidArgument, match="'xyz' is not in"):
        phones_to_ids(["a1", "xyz"])


def test_family_notation() -> None:
    assert expand("ER:-012 B ng:12") == ["ER", "ER0", "ER1", "ER2", "B", "ng1", "ng2"]
