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
            build_parser(command.split()[0]).parse_args([*command.split(), "--help"])
        assert exit_info.value.code == 0, f"docs/operations.md mentions `voxguard {command}`"
    capsys.readouterr()


def test_help_and_version_answer_without_loading_the_heavy_modules() -> None:
    """`voxguard --help` took 3.6 s when every command module (SciPy, Alembic) was imported."""
    import subprocess
    import sys

    code = ("import sys, time; t = time.perf_counter(); from server.cli.main import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "heavy = [m for m in ('scipy', 'alembic', 'sqlalchemy', 'torch', 'grpc') if m in sys.modules]\n"
            "print(repr(heavy))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip().splitlines()[-1] == "[]", result.stdout
    assert "serve" in result.stdout and "gpt-sovits" in result.stdout
    version = subprocess.run([sys.executable, "-m", "server.cli.main", "--version"],
                             capture_output=True, text=True, check=False)
    assert version.returncode == 0 and version.stdout.startswith("voxguard ")
