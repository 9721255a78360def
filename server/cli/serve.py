"""``voxguard serve`` and ``voxguard db upgrade``."""

from __future__ import annotations

import argparse
import asyncio

from server.cli.local import reports_errors, require_initialised
from server.config import Settings
from server.logs import configure_logging


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``serve`` and ``db`` commands."""
    serve = subparsers.add_parser("serve", help="run the gRPC server (settings from VOXGUARD_*)")
    serve.add_argument("--listen", help="host:port to listen on (overrides VOXGUARD_LISTEN)")
    serve.add_argument("--init", action="store_true",
                       help="create a new installation if the data dir holds none")
    serve.set_defaults(handler=reports_errors(_serve))
    db = subparsers.add_parser("db", help="database schema")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    db_commands.add_parser("upgrade", help="migrate the schema to the latest revision").set_defaults(
        handler=reports_errors(_db_upgrade)
    )


def _serve(args: argparse.Namespace) -> int:
    from server.grpc_app.app import RunningServer, serve_forever

    overrides = {"listen": args.listen} if args.listen else {}
    settings = Settings.load(**overrides)
    if not args.init:
        require_initialised(settings)
    configure_logging(settings.log_level, settings.log_format)
    host = settings.listen.rpartition(":")[0]

    def ready(running: RunningServer) -> None:
        token_hint = (
            "VOXGUARD_ADMIN_TOKEN" if settings.admin_token else str(settings.data_dir / "admin.token")
        )
        print(f"voxguard listening on {host}:{running.port} "
              f"(data in {settings.data_dir}; operator credential: {token_hint})", flush=True)

    asyncio.run(serve_forever(settings, ready))
    return 0


def _db_upgrade(args: argparse.Namespace) -> int:
    from server.db.migrate import current_revision, upgrade
    from server.db.session import Database

    settings = Settings.load()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    database = Database(settings.resolved_database_url)
    try:
        upgrade(database.engine)
        print(f"database is at revision {current_revision(database.engine)}")
    finally:
        database.dispose()
    return 0
