"""Spelled pinyin syllable -> the two GPT-SoVITS Mandarin phones (initial, toneless final).

GPT-SoVITS models every Mandarin syllable as exactly two symbols of its 732-symbol table: an
initial (``b``, ``zh``, ... or ``y``/``w``, or ``AA``/``EE``/``OO`` for a syllable that has no
initial) and a final (``ang``, ``ir``, ``i0``, ``En``, ...); the tone digit is appended to the
final by the caller. The official release reads that mapping from a data file; here it is
derived by rules from a syllable inventory, which keeps the table auditable and small.

The inventory is stated final by final: for each final as it is *spelled* after the initial, the
initials it combines with (``-`` means the syllable has no initial). It is deliberately the exact
set the model's front end accepts, quirks included (``jv``/``yvan`` spellings are valid because
pypinyin spells ü as ``v`` after j/q/x/y; ``lue``/``nue`` are not, since pypinyin writes
``lve``/``nve``). A syllable outside it cannot be turned into phones.
"""

from __future__ import annotations

from functools import cache

# final (as spelled) -> initials it follows ("-" = no initial).
_INVENTORY: dict[str, str] = {
    "a": "b p m f d t n l g k h zh ch sh z c s y w -",
    "ai": "b p m d t n l g k h zh ch sh z c s w -",
    "an": "b p m f d t n l g k h zh ch sh r z c s y w -",
    "ang": "b p m f d t n l g k h zh ch sh r z c s y w -",
    "ao": "b p m d t n l g k h zh ch sh r z c s y -",
    "e": "m d t n l g k h zh ch sh r z c s y -",
    "ei": "b p m f d t n l g k h zh sh z c w -",
    "en": "b p m f d n g k h zh ch sh r z c s w -",
    "eng": "b p m f d t n l g k h zh ch sh r z c s w -",
    "er": "-",
    "i": "b p m d t n l j q x zh ch sh r z c s y",
    "ia": "d l j q x",
    "ian": "b p m d t n l j q x",
    "iang": "n l j q x",
    "iao": "b p m d t n l j q x",
    "ie": "b p m d t n l j q x",
    "in": "b p m n l j q x y",
    "ing": "b p m d t n l j q x y",
    "iong": "j q x",
    "iu": "m d n l j q x",
    "o": "b p m f l y w -",
    "ong": "d t n l g k h zh ch r z c s y",
    "ou": "p m f d t n l g k h zh ch sh r z c s y -",
    "u": "b p m f d t n l g k h j q x zh ch sh r z c s y w",
    "ua": "g k h zh ch sh r",
    "uai": "g k h zh ch sh",
    "uan": "d t n l g k h j q x zh ch sh r z c s y",
    "uang": "g k h zh ch sh",
    "ue": "j q x y",
    "ui": "d t g k h zh ch sh r z c s",
    "un": "d t n l g k h j q x zh ch sh r z c s y",
    "uo": "d t n l g k h zh ch sh r z c s",
    "v": "n l j q x y",
    "van": "j q x y",
    "ve": "n l j q x y",
    "vn": "j q x y",
}

# After j/q/x/y a spelled "u" is really ü (written v by the phone set).
_U_IS_UMLAUT = {"u": "v", "ue": "ve", "uan": "van", "un": "vn"}
# After y, the -an and -e finals are the fronted variants.
_Y_FRONTED = {"an": "En", "e": "E"}
# Zero-initial syllables borrow a placeholder initial named after their first vowel.
_ZERO_INITIAL = {"a": "AA", "e": "EE", "o": "OO"}


def _phones_for(initial: str, final: str) -> tuple[str, str]:
    """Apply the phone-set conventions to a valid (initial, spelled final) pair."""
    if not initial:
        return _ZERO_INITIAL[final[0]], final
    if initial in ("j", "q", "x", "y"):
        final = _U_IS_UMLAUT.get(final, final)
    if initial == "y":
        final = _Y_FRONTED.get(final, final)
    if final == "i":
        if initial in ("z", "c", "s"):
            final = "i0"  # apical vowel after dental sibilants
        elif initial in ("zh", "ch", "sh", "r"):
            final = "ir"  # apical vowel after retroflexes
    return initial, final


@cache
def _table() -> dict[str, tuple[str, str]]:
    table: dict[str, tuple[str, str]] = {}
    for final, initials in _INVENTORY.items():
        for initial in initials.split():
            initial = "" if initial == "-" else initial
            table[initial + final] = _phones_for(initial, final)
    return table


def syllable_to_phones(syllable: str) -> tuple[str, str] | None:
    """The (initial, final) phones of a toneless spelled syllable, or None if it is not valid.

    >>> syllable_to_phones("zhi"), syllable_to_phones("yan"), syllable_to_phones("er")
    (('zh', 'ir'), ('y', 'En'), ('EE', 'er'))
    """
    return _table().get(syllable)


def all_syllables() -> dict[str, tuple[str, str]]:
    """Every valid spelled syllable and its phones (a copy; for checks and tests)."""
    return dict(_table())


__all__ = ["all_syllables", "syllable_to_phones"]
