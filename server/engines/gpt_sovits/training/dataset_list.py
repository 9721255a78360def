"""The official GPT-SoVITS ``.list`` file: one training utterance per line.

Each line is ``wav_path|speaker|language|text`` (what the official slicer + ASR step writes
and what the official data-preparation scripts read). The item's name everywhere in the
experiment folder is the audio file's base name, so two lines naming files with the same base
name would overwrite each other's features; they are refused here.

The official scripts skip a line they cannot use (printing a traceback) and carry on, so a
typo silently shrinks the dataset. Here every problem is found before any model is loaded and
reported in one :class:`~server.errors.InvalidArgument` naming the line and what to change.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from server.errors import InvalidArgument

#: The official language codes of a ``.list`` (``1-get-text.py``) -> the language they mean.
OFFICIAL_LANGUAGES: dict[str, str] = {
    "ZH": "zh", "zh": "zh", "JP": "ja", "jp": "ja", "JA": "ja", "ja": "ja",
    "EN": "en", "en": "en", "En": "en", "KO": "ko", "Ko": "ko", "ko": "ko",
    "yue": "yue", "YUE": "yue", "Yue": "yue",
}
#: The languages voxguard's text front end phonemises (the others are official but not here).
SUPPORTED_LANGUAGES = ("en", "zh")
_MAX_PROBLEMS_SHOWN = 5


@dataclass(frozen=True)
class ListItem:
    """One usable line of a ``.list``."""

    line: int  # 1-based line number in the file
    name: str  # the audio file's base name: the item's key in the experiment folder
    wav_path: Path
    speaker: str
    language: str  # "en" or "zh"
    text: str  # as written (the official text replacements happen in the text stage)


def clean_path(value: str) -> str:
    """The official ``clean_path``: trailing slashes and surrounding quotes/spaces removed."""
    while value.endswith(("\\", "/")):
        value = value[:-1]
    return value.replace("\\", os.sep).replace("/", os.sep).strip(" '\n\"\u202a")


def read_list(path: Path, wav_dir: Path | None = None) -> list[ListItem]:
    """Parse and check a ``.list``; every problem of the file in one error.

    Relative audio paths are resolved against ``wav_dir`` when given (the official
    ``inp_wav_dir``: ``wav_dir/<base name>``), otherwise against the ``.list``'s folder.
    """
    path = Path(path)
    try:
        content = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidArgument(f"the .list file {path} does not exist") from None
    except UnicodeDecodeError:
        raise InvalidArgument(f"the .list file {path} is not UTF-8 text") from None
    lines = content.strip("\n").split("\n")
    items: list[ListItem] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    for number, raw in enumerate(lines, start=1):
        line = raw.rstrip("\r")
        if not line.strip():
            problems.append(f"line {number}: empty line")
            continue
        try:
            item = _parse_line(number, line, path.parent, wav_dir)
        except InvalidArgument as problem:
            problems.append(problem.message)
            continue
        if item.name in seen:
            problems.append(
                f"line {number}: {item.name} has the same file name as line {seen[item.name]}; "
                "item names are file names, rename one of the files")
            continue
        seen[item.name] = number
        items.append(item)
    if problems:
        shown = "; ".join(problems[:_MAX_PROBLEMS_SHOWN])
        more = f" (and {len(problems) - _MAX_PROBLEMS_SHOWN} more)" \
            if len(problems) > _MAX_PROBLEMS_SHOWN else ""
        raise InvalidArgument(f"the .list file {path} has problems: {shown}{more}")
    if not items:
        raise InvalidArgument(f"the .list file {path} lists no utterance")
    return items


def _parse_line(number: int, line: str, list_dir: Path, wav_dir: Path | None) -> ListItem:
    fields = line.split("|")
    if len(fields) != 4:
        raise InvalidArgument(
            f"line {number}: {len(fields)} field(s); want wav_path|speaker|language|text "
            "(the text may not contain '|')")
    wav, speaker, language, text = fields
    wav = clean_path(wav)
    if not wav:
        raise InvalidArgument(f"line {number}: the audio path is empty")
    name = os.path.basename(wav)
    if wav_dir is not None:
        wav_path = Path(wav_dir) / name
    else:
        wav_path = Path(wav) if os.path.isabs(wav) else list_dir / wav
    if not wav_path.is_file():
        raise InvalidArgument(f"line {number}: audio file {wav_path} does not exist")
    canonical = OFFICIAL_LANGUAGES.get(language)
    if canonical is None:
        raise InvalidArgument(
            f"line {number}: language {language!r} is not a GPT-SoVITS language code; use "
            "zh or en")
    if canonical not in SUPPORTED_LANGUAGES:
        raise InvalidArgument(
            f"line {number}: language {language!r} ({canonical}) is not supported by voxguard's "
            "text front end; use zh or en")
    if not text.strip():
        raise InvalidArgument(f"line {number}: the transcript is empty; write what {name} says")
    return ListItem(line=number, name=name, wav_path=wav_path, speaker=speaker,
                    language=canonical, text=text)
