"""The GPT-SoVITS v2 phone table: 732 symbols whose positions are the models' phone ids.

The T2S model's phone embedding and the SoVITS text encoder index their rows by these ids,
so the table is part of the checkpoint format (a fact about the released models, like a
protocol's opcode table). It is composed, as GPT-SoVITS v2 composes it, of: the pad ``_``;
the Mandarin initials and toned finals; Japanese phones; punctuation and pause symbols;
ARPAbet with stress digits. Those are sorted together, then ``[`` and ``]`` (Japanese pitch
marks), the Korean jamo and the Cantonese (``Y``-prefixed jyutping) symbols follow.

Families are written compactly: ``base:tones`` stands for ``base`` followed by each tone
digit (``-`` = the toneless base too). ``tests/.../test_symbols.py`` pins the whole table by
its sha256.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from server.errors import InvalidArgument

PAD = "_"
MANDARIN_INITIALS = "AA EE OO b c ch d f g h j k l m n p q r s sh t w x y z zh"
MANDARIN_FINALS = (
    "E:12345 En:12345 a:12345 ai:12345 an:12345 ang:12345 ao:12345 e:12345 ei:12345 en:12345 "
    "eng:12345 er:12345 i:12345 i0:12345 ia:12345 ian:12345 iang:12345 iao:12345 ie:12345 "
    "in:12345 ing:12345 iong:12345 ir:12345 iu:12345 o:12345 ong:12345 ou:12345 u:12345 "
    "ua:12345 uai:12345 uan:12345 uang:12345 ui:12345 un:12345 uo:12345 v:12345 van:12345 "
    "ve:12345 vn:12345"
)
JAPANESE = ("I N U a b by ch cl d dy e f g gy h hy i j k ky m my n ny o p py r ry s sh t ts u v "
            "w y z")
#: Punctuation the front ends keep, then the pause/unknown symbols.
PUNCTUATION = ("!", "?", "…", ",", ".", "-")
PAUSES = ("SP", "SP2", "SP3", "UNK")
ARPABET = (
    "AA:012 AE:012 AH:012 AO:012 AW:012 AY:012 B CH D DH EH:012 ER:-012 EY:012 F G HH "
    "IH:-012 IY:012 JH K L M N NG OW:012 OY:012 P R S SH T TH UH:012 UW:012 V W Y Z ZH"
)
JAPANESE_PITCH = ("[", "]")
KOREAN = "ㄱㄴㄷㄹㅁㅂㅅㅇㅈㅊㅋㅌㅍㅎㄲㄸㅃㅆㅉㅏㅓㅗㅜㅡㅣㅐㅔ空停"
CANTONESE = (
    "Ya:-123456 Yaa:-123456 Yaai:123456 Yaak:123456 Yaam:123456 Yaan:123456 Yaang:123456 "
    "Yaap:123456 Yaat:123456 Yaau:123456 Yai:-123456 Yak:-123456 Yam:123456 Yan:123456 "
    "Yang:123456 Yap:123456 Yat:123456 Yau:-123456 Yb Yc Yd Ye:-123456 Yei:123456 Yek:123456 "
    "Yeng:123456 Yeoi:123456 Yeon:123456 Yeot:123456 Yf Yg:-123456 Ygw Yh Yi:123456 "
    "Yik:123456 Yim:123456 Yin:123456 Ying:123456 Yip:123456 Yit:123456 Yiu:123456 Yj "
    "Yk:-123456 Ykw Yl Ym:-123456 Yn:-123456 Yng Yo:-123456 Yoe:123456 Yoek:123456 "
    "Yoeng:123456 Yoi:-123456 Yok:-123456 Yon:-123456 Yong:123456 Yot:123456 You:-123456 "
    "Yp:-123456 Ys Yt:-123456 Yu:123456 Yui:123456 Yuk:-123456 Yun:123456 Yung:123456 "
    "Yut:123456 Yw Yyu:123456 Yyun:123456 Yyut:123456 Yz"
)


def expand(families: str) -> list[str]:
    """``"a:12 b"`` -> ``["a1", "a2", "b"]`` (``-`` in the tones keeps the bare base)."""
    symbols: list[str] = []
    for item in families.split():
        base, _, tones = item.partition(":")
        if not tones:
            symbols.append(base)
            continue
        symbols += [base if tone == "-" else base + tone for tone in tones]
    return symbols


def _table() -> tuple[str, ...]:
    core = {PAD, *MANDARIN_INITIALS.split(), *expand(MANDARIN_FINALS), *JAPANESE.split(),
            *PUNCTUATION, *PAUSES, *expand(ARPABET)}
    return (*sorted(core), *JAPANESE_PITCH, *sorted(KOREAN), *sorted(expand(CANTONESE)))


SYMBOLS: tuple[str, ...] = _table()
SYMBOL_TO_ID: dict[str, int] = {symbol: index for index, symbol in enumerate(SYMBOLS)}
#: Punctuation marks that are phones of their own.
PUNCTUATION_SET = frozenset(PUNCTUATION)


def phones_to_ids(phones: Iterable[str]) -> list[int]:
    """Phone symbols -> ids; InvalidArgument names the first unknown symbol."""
    ids: list[int] = []
    for phone in phones:
        index = SYMBOL_TO_ID.get(phone)
        if index is None:
            raise InvalidArgument(f"phone {phone!r} is not in the GPT-SoVITS v2 phone table")
        ids.append(index)
    return ids


def ids_to_phones(ids: Sequence[int]) -> list[str]:
    """The inverse of :func:`phones_to_ids`."""
    return [SYMBOLS[i] for i in ids]
