"""gRPC health that follows what the server can actually do.

Every ``HEALTH_INTERVAL_SECONDS`` the monitor asks the database for ``SELECT 1`` and the
synthesis pool for its live workers, then sets the standard health service:

- ``voxguard.v1.Synthesis`` is SERVING when the database answers and a worker is ready
  (alive, its engine loaded): NOT_SERVING while the workers load at start-up;
- every other voxguard service is SERVING when the database answers;
- the overall status (service ``""``) is SERVING only when both hold.

A load balancer that watches the overall status therefore stops sending traffic to a
replica whose database is gone or whose workers all died, and sends it again once the
watchdog has replaced them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence

from grpc_health.v1 import health, health_pb2
from sqlalchemy import text

from server.db.session import Database
from server.platform import Platform

log = logging.getLogger(__name__)

HEALTH_INTERVAL_SECONDS = 1.0
_SERVING = health_pb2.HealthCheckResponse.SERVING
_NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


def database_answers(db: Database) -> bool:
    """True when the database runs a trivial query."""
    try:
        with db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return True
    except Exception:  # noqa: BLE001 - any driver error means "not serving"
        return False


def workers_ready(platform: Platform) -> int:
    """Live synthesis workers with their engine loaded (0 while they load or when all died)."""
    service = platform.synthesis
    return service.ready_workers if service is not None else 0


async def follow_health(
    servicer: health.aio.HealthServicer,
    platform: Platform,
    service_names: Sequence[str],
    synthesis_name: str,
    *,
    interval: float = HEALTH_INTERVAL_SECONDS,
    draining: Callable[[], bool] = lambda: False,
) -> None:
    """Keep the health statuses current until cancelled."""
    last: dict[str, int] = {}
    while True:
        database_ok = await asyncio.to_thread(database_answers, platform.db)
        workers = workers_ready(platform)
        stopping = draining()
        wanted = {
            name: _SERVING if database_ok and not stopping and (
                name != synthesis_name or workers > 0) else _NOT_SERVING
            for name in service_names
        }
        wanted[""] = _SERVING if database_ok and workers > 0 and not stopping else _NOT_SERVING
        for name, status in wanted.items():
            if last.get(name) != status:
                await servicer.set(name, status)
                if name == "":
                    log.log(logging.INFO if status == _SERVING else logging.WARNING,
                            "health: %s (database %s, %d workers ready)",
                            "SERVING" if status == _SERVING else "NOT_SERVING",
                            "answers" if database_ok else "does not answer", workers)
        last = wanted
        await _next_check(platform, interval)


async def _next_check(platform: Platform, interval: float) -> None:
    """Sleep ``interval`` s, or less when a worker became ready or went away."""
    service = platform.synthesis
    if service is None:
        await asyncio.sleep(interval)
        return
    changed = service.workers_changed
    try:
        await asyncio.wait_for(changed.wait(), interval)
    except TimeoutError:
        return
    changed.clear()
