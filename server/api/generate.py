"""Regenerate ``server/api/v1`` from ``protos/voxguard/v1/*.proto``.

protoc writes absolute imports (``from voxguard.v1 import common_pb2``) that only work if
the output folder is a top-level package; we rewrite them to relative imports so the
stubs live inside ``server.api.v1``. ``--check`` regenerates into memory and exits 1 if
the committed stubs are stale.

Usage: ``python -m server.api.generate [--check]``.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from importlib import metadata, resources
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PROTO_ROOT = PROJECT_ROOT / "protos"
OUTPUT_DIR = PROJECT_ROOT / "server" / "api" / "v1"
LOCK_PATH = PROJECT_ROOT / "requirements.lock"
_GENERATOR = "grpcio-tools"
_LOCKED_GENERATOR = re.compile(r"^grpcio-tools==(\S+)", re.MULTILINE)
_ABSOLUTE_IMPORT = re.compile(r"^from voxguard\.v1 import (\w+)", re.MULTILINE)
_INIT = '"""Generated voxguard.v1 protobuf and gRPC modules (see server/api/generate.py)."""\n'


def render() -> dict[str, str]:
    """Run protoc on every proto file and return ``{file name: patched source}``."""
    from grpc_tools import protoc

    sources = sorted(str(p.relative_to(PROTO_ROOT)) for p in PROTO_ROOT.rglob("*.proto"))
    well_known = str(resources.files("grpc_tools") / "_proto")
    with tempfile.TemporaryDirectory() as tmp:
        status = protoc.main(
            [
                "protoc",
                f"-I{PROTO_ROOT}",
                f"-I{well_known}",
                f"--python_out={tmp}",
                f"--pyi_out={tmp}",
                f"--grpc_python_out={tmp}",
                *sources,
            ]
        )
        if status != 0:
            raise SystemExit(f"protoc failed with status {status}")
        generated = Path(tmp) / "voxguard" / "v1"
        files = {
            path.name: _ABSOLUTE_IMPORT.sub(r"from . import \1", path.read_text())
            for path in sorted(generated.iterdir())
            if path.suffix in {".py", ".pyi"}
        }
    files["__init__.py"] = _INIT
    return files


def generator_mismatch(lock_text: str, installed: str | None) -> str | None:
    """Why the installed grpcio-tools cannot reproduce the committed stubs, or None."""
    pinned = _LOCKED_GENERATOR.search(lock_text)
    if pinned is None:
        return f"requirements.lock pins no {_GENERATOR}; run `make lock`"
    if installed != pinned.group(1):
        return (
            f"{_GENERATOR} {installed or '(not installed)'} is installed but requirements.lock "
            f"pins {pinned.group(1)}, which generated the committed stubs; run `make setup`"
        )
    return None


def _installed_generator() -> str | None:
    try:
        return metadata.version(_GENERATOR)
    except metadata.PackageNotFoundError:
        return None


def main(argv: list[str] | None = None) -> int:
    """Write the stubs, or with ``--check`` report whether the committed ones are stale."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if stubs are stale")
    args = parser.parse_args(argv)
    mismatch = generator_mismatch(LOCK_PATH.read_text(), _installed_generator())
    if mismatch is not None:
        print(mismatch)
        return 1
    wanted = render()
    existing = {p.name: p.read_text() for p in OUTPUT_DIR.glob("*.py*")} if OUTPUT_DIR.exists() else {}
    if args.check:
        stale = sorted(set(wanted) ^ set(existing) | {n for n in wanted if existing.get(n) != wanted[n]})
        if stale:
            print("stale generated stubs: " + ", ".join(stale) + "; run `make protos`")
            return 1
        print("generated stubs are up to date")
        return 0
    OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
    for stale_file in set(existing) - set(wanted):
        (OUTPUT_DIR / stale_file).unlink()
    for name, text in wanted.items():
        (OUTPUT_DIR / name).write_text(text)
    print(f"wrote {len(wanted)} files to {OUTPUT_DIR.relative_to(PROJECT_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
