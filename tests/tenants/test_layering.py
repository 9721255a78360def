"""The layer contracts in pyproject.toml ([tool.importlinter]) hold: the domain runs no model
and imports no gRPC, worker or engine code; engines know nothing of the platform; the engine
and synthesis packages have no import cycles. ``make lint`` runs the same check."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def test_the_import_contracts_are_kept() -> None:
    lint_imports = Path(sys.executable).parent / "lint-imports"
    done = subprocess.run([str(lint_imports), "--no-cache"], cwd=PROJECT_ROOT, capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout[-3000:]
    assert "0 broken" in done.stdout
