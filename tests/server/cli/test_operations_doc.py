"""docs/operations.md documents every setting (a new Settings field needs a row)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from server.config import Settings

DOC = Path(__file__).resolve().parents[3] / "docs" / "operations.md"


def test_every_setting_has_a_row_in_the_configuration_table() -> None:
    text = DOC.read_text()
    documented = set(re.findall(r"^\| `(VOXGUARD_[A-Z0-9_]+)` \|", text, flags=re.MULTILINE))
    expected = {f"VOXGUARD_{name.upper()}" for name in Settings.model_fields}
    assert expected - documented == set(), "add these settings to docs/operations.md"
    assert documented - expected == set(), "these documented settings no longer exist"


def test_documented_defaults_match_the_settings() -> None:
    rows = dict(re.findall(r"^\| `(VOXGUARD_[A-Z0-9_]+)` \| ([^|]+) \|", DOC.read_text(), flags=re.MULTILINE))
    for name, field in Settings.model_fields.items():
        if name == "data_dir":
            continue
        cell = rows[f"VOXGUARD_{name.upper()}"].strip().strip("`").lower()
        expected = "unset" if field.default is None else str(field.default).lower()
        assert cell == expected, f"VOXGUARD_{name.upper()}: doc says {cell}, default is {expected}"


def test_documented_commands_exist(capsys: pytest.CaptureFixture[str]) -> None:
    from server.cli.main import build_parser

    blocks = re.findall(r"^```\n(.*?)^```", DOC.read_text(), flags=re.MULTILINE | re.DOTALL)
    commands = set()
    for line in "\n".join(blocks).splitlines():
        if line.startswith("voxguard "):
            words = []
            for token in line.split()[1:]:
                if not re.fullmatch(r"[a-z][a-z-]*", token):
                    break
                words.append(token)
            commands.add(" ".join(words))
    assert len(commands) > 10
    for command in sorted(commands):
        with pytest.raises(SystemExit) as exit_info:
            build_parser().parse_args([*command.split(), "--help"])
        assert exit_info.value.code == 0, f"docs/operations.md mentions `voxguard {command}`"
    capsys.readouterr()
