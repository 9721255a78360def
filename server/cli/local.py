"""What the operator commands that work on the local data directory share.

``voxguard admin`` and ``voxguard audit`` read the same ``VOXGUARD_*`` settings as the
server (``--data-dir`` overrides the data directory) and open only the engine-free
:class:`~server.core.Core`. Failures print one ``error:`` line, never a traceback.
"""

from __future__ import annotations

import argparse
import functools
from collections.abc import Callable
from pathlib import Path

from pydantic import ValidationError

from server.cli.output import fail
from server.config import Settings
from server.errors import FailedPrecondition, VoxguardError

Handler = Callable[[argparse.Namespace], int]


def add_data_dir_flag(parser: argparse.ArgumentParser) -> None:
    """Give a command the ``--data-dir`` override of ``VOXGUARD_DATA_DIR``."""
    parser.add_argument("--data-dir", type=Path, help="data directory (default: VOXGUARD_DATA_DIR)")


def local_settings(args: argparse.Namespace) -> Settings:
    """The settings from the environment, with the command line's ``--data-dir``."""
    data_dir = getattr(args, "data_dir", None)
    return Settings.load(data_dir=data_dir) if data_dir else Settings.load()


def is_initialised(settings: Settings) -> bool:
    """True when the data directory already holds a voxguard keyring (or keys are given)."""
    return settings.master_key is not None or settings.resolved_master_key_file.exists()


def require_initialised(settings: Settings) -> None:
    """Refuse to create keys in a data directory nobody asked to create.

    A mistyped ``VOXGUARD_DATA_DIR`` would otherwise start an empty installation with a new
    keyring next to the real one; a new installation is created only by ``voxguard admin
    init`` or ``voxguard serve --init``.
    """
    if not is_initialised(settings):
        raise FailedPrecondition(
            f"no voxguard installation in {settings.data_dir} (no master keyring there): check "
            "VOXGUARD_DATA_DIR, or create a new installation with `voxguard admin init` "
            "(or `voxguard serve --init`)"
        )


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
