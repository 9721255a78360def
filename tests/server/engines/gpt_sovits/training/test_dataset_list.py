"""The ``.list`` reader: official format, every problem reported before any work."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.engines.gpt_sovits.training.dataset_list import clean_path, read_list
from server.errors import InvalidArgument


@pytest.fixture
def clips(tmp_path: Path) -> Path:
    for name in ("a.wav", "b.flac"):
        (tmp_path / name).write_bytes(b"RIFF")
    return tmp_path


def _write(folder: Path, *lines: str) -> Path:
    path = folder / "train.list"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_reads_the_official_format(clips: Path) -> None:
    items = read_list(_write(clips, f"{clips}/a.wav|spk|ZH|你好。", "b.flac|spk|En|Hello there."))
    assert [(i.line, i.name, i.language, i.text) for i in items] == [
        (1, "a.wav", "zh", "你好。"), (2, "b.flac", "en", "Hello there.")]
    assert items[1].wav_path == clips / "b.flac"  # relative to the .list's folder


def test_wav_dir_takes_the_base_name(clips: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    items = read_list(_write(elsewhere, "/nowhere/a.wav|spk|en|Hi there."), wav_dir=clips)
    assert items[0].wav_path == clips / "a.wav"


def test_clean_path_strips_quotes_and_trailing_slashes() -> None:
    assert clean_path(' "/data/a.wav"\n') == "/data/a.wav"
    assert clean_path("/data/clips/") == "/data/clips"


@pytest.mark.parametrize(("line", "message"), [
    ("missing.wav|spk|en|Hello.", "missing.wav does not exist"),
    ("a.wav|spk|en|   ", "the transcript is empty"),
    ("a.wav|spk|ja|こんにちは", "'ja' (ja) is not supported"),
    ("a.wav|spk|fr|Bonjour.", "'fr' is not a GPT-SoVITS language code"),
    ("a.wav|spk|en", "3 field(s)"),
    ("a.wav|spk|en|a|b", "5 field(s)"),
])
def test_refuses_a_bad_line_with_its_number(clips: Path, line: str, message: str) -> None:
    with pytest.raises(InvalidArgument) as error:
        read_list(_write(clips, "b.flac|spk|en|Fine.", line))
    assert "line 2" in error.value.message and message in error.value.message


def test_reports_every_problem_at_once(clips: Path) -> None:
    with pytest.raises(InvalidArgument) as error:
        read_list(_write(clips, "x.wav|spk|en|Hi.", "a.wav|spk|en|", "b.flac|s|en|Ok."))
    assert "line 1" in error.value.message and "line 2" in error.value.message


def test_refuses_two_files_with_one_name(clips: Path) -> None:
    (clips / "sub").mkdir()
    (clips / "sub" / "a.wav").write_bytes(b"RIFF")
    with pytest.raises(InvalidArgument, match="same file name as line 1"):
        read_list(_write(clips, "a.wav|spk|en|One.", "sub/a.wav|spk|en|Two."))


def test_refuses_a_missing_or_empty_list(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match="does not exist"):
        read_list(tmp_path / "none.list")
    (tmp_path / "empty.list").write_text("\n", encoding="utf-8")
    with pytest.raises(InvalidArgument, match="empty line"):
        read_list(tmp_path / "empty.list")
