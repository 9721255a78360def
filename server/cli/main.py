"""Entry point of the ``voxguard`` command.

Each command group lives in its own module that exposes ``register(subparsers)``; the
group adds its sub-commands and sets ``handler`` (a callable taking the parsed
namespace and returning an exit code) on each.

Only the module of the command being run is imported: ``voxguard --help`` and
``voxguard --version`` answer at once instead of loading SciPy, SQLAlchemy and Alembic.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from importlib import metadata

#: Top-level command -> (module that registers it, one-line help shown by --help).
COMMANDS: dict[str, tuple[str, str]] = {
    "serve": ("server.cli.serve", "run the gRPC server (settings from VOXGUARD_*)"),
    "db": ("server.cli.serve", "database schema"),
    "admin": ("server.cli.admin", "operator tasks on the local data dir"),
    "audit": ("server.cli.audit", "verify and read the audit hash chain"),
    "client": ("server.cli.client", "call a running server (tenant API key)"),
    "demo": ("server.cli.demo", "run the whole story end to end on a local server"),
    "watermark": ("server.cli.watermark", "provenance watermark keys, embed, detect"),
    "gpt-sovits": ("server.cli.gpt_sovits", "check GPT-SoVITS model folders and run them offline"),
}
#: Kept for callers that iterate over every group module.
COMMAND_GROUPS: tuple[str, ...] = tuple(dict.fromkeys(module for module, _ in COMMANDS.values()))


def version() -> str:
    """The installed voxguard version."""
    try:
        return metadata.version("voxguard")
    except metadata.PackageNotFoundError:
        return "unknown"


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The argument parser; with ``command``, that command's full sub-parser is loaded.

    Without it (or for an unknown name) every command is listed by name and help only.
    """
    parser = argparse.ArgumentParser(
        prog="voxguard",
        description="Consent-based voice cloning platform: server, operator and client tools.",
    )
    parser.add_argument("--version", action="version", version=f"voxguard {version()}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    loaded: set[str] = set()
    for name, (module_name, summary) in COMMANDS.items():
        if name == command:
            if module_name not in loaded:
                importlib.import_module(module_name).register(subparsers)
                loaded.add(module_name)
        elif command is None or command not in COMMANDS or COMMANDS[command][0] != module_name:
            subparsers.add_parser(name, help=summary, add_help=False)
    return parser


def build_full_parser() -> argparse.ArgumentParser:
    """Every command with its sub-commands (for documentation checks)."""
    parser = argparse.ArgumentParser(prog="voxguard")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module_name in COMMAND_GROUPS:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and run the chosen command; returns the process exit code."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    command = next((a for a in args_list if not a.startswith("-")), None)
    parser = build_parser(command)
    args = parser.parse_args(args_list)
    handler = getattr(args, "handler", None)
    if handler is None:  # a known name whose module did not load: cannot happen, but be clear
        parser.error(f"the command {args.command!r} is not available")
    return int(handler(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
