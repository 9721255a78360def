"""What the operator commands that work on the local data directory share.

``voxguard admin`` and ``voxguard audit`` read the same ``VOXGUARD_*`` settings as the
server (``--data-dir`` overrides the data directory) and open only the engine-free
:class:`~server.core.Core`. Failures print one ``error:`` line, never a traceback.
"""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Callable
from pathlib import Path

from pydantic import ValidationError

from server.cli.output import fail
from server.config import Settings
from server.errors import VoxguardError

Handler = Callable[[argparse.Namespace], int]


def add_data_dir_flag(parser: argparse.ArgumentParser) -> None:
    """Give a command the ``--data-dir`` override of ``VOXGUARD_DATA_DIR``."""
    parser.add_argument("--data-dir", type=Path, help="data directory (default: VOXGUARD_DATA_DIR)")


def local_settings(args: argparse.Namespace) -> Settings:
    """The settings from the environment, with the command line's ``--data-dir``."""
    data_dir = getattr(args, "data_dir", None)
    return Settings.load(data_dir=data_dir) if data_dir else Settings.load()


def note_new_data_dir(settings: Settings) -> None:
    """Tell the operator on stderr when a command is about to initialise a new data dir."""
    if settings.database_url is None and not (settings.data_dir / "voxguard.db").exists():
        print(f"note: no voxguard database in {settings.data_dir}; initialising a new one",
              file=sys.stderr)


def reports_errors(handler: Handler) -> Handler:
    """Turn expected failures (bad settings, domain errors, unreadable files) into exit 2."""

    @functools.wraps(handler)
    def wrapper(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except ValidationError as exc:
            problems = "; ".join(
                f"VOXGUARD_{'_'.join(str(p) for p in e['loc']).upper()}: "
                f"{str(e['msg']).removeprefix('Value error, ')}"
                for e in exc.errors()
            )
            return fail(f"invalid VOXGUARD_* settings: {problems}")
        except VoxguardError as exc:
            return fail(exc.message)
        except OSError as exc:
            return fail(f"{exc.strerror or exc}: {exc.filename}" if exc.filename else str(exc))

    return wrapper
