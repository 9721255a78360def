"""Entry point of the ``voxguard`` command.

Each command group lives in its own module that exposes ``register(subparsers)``; the
group adds its sub-commands and sets ``handler`` (a callable taking the parsed
namespace and returning an exit code) on each.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

COMMAND_GROUPS: tuple[str, ...] = (
    "server.cli.serve",
    "server.cli.admin",
    "server.cli.audit",
    "server.cli.client",
    "server.cli.demo",
    "server.cli.watermark",
)


def build_parser() -> argparse.ArgumentParser:
    """Build the full argument parser with every registered command group."""
    parser = argparse.ArgumentParser(
        prog="voxguard",
        description="Consent-based voice cloning platform: server, operator and client tools.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module_name in COMMAND_GROUPS:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and run the chosen command; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    return int(args.handler(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
