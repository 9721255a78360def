"""The domain layer (tenants/) never imports the gRPC, worker or CLI layers."""

from __future__ import annotations

import ast
from pathlib import Path

TENANTS = Path(__file__).resolve().parents[2] / "tenants"
FORBIDDEN = ("server.grpc_app", "server.synthesis", "server.cli", "server.api", "grpc",
             "soundfile")


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def test_tenants_imports_no_outer_layer() -> None:
    offenders = {
        f"{path.name}: {name}"
        for path in sorted(TENANTS.glob("*.py"))
        for name in _imports(path)
        if any(name == bad or name.startswith(bad + ".") for bad in FORBIDDEN)
    }
    assert not offenders, sorted(offenders)
