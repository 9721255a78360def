"""Audit events per second from several replicas on one PostgreSQL: global lock vs pending.

Every synthesis writes one audit event in its own transaction. Before, that event was
chained at once, under the chain's advisory lock, so all replicas queued behind one lock;
now it is recorded without the lock and chained in batches (``tenants/audit.py``). This
benchmark runs R replica processes with T threads each, every thread committing
synthesis-style transactions (one event each) as fast as it can for D seconds, once per mode:

``append``  the old path (chained at once, lock per event);
``record``  the new path (pending, plus each replica's chainer every 0.5 s as the server runs it).

It measures the database side of a synthesis request only: on this 2-core machine the
synthesis itself is CPU-bound and would hide the lock.

    python benchmarks/audit_throughput.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test \\
        [--replicas 1 2 4] [--threads 8] [--seconds 5] [--out results.json]

It creates and drops its own scratch database on that server.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _replica(url: str, mode: str, threads: int, seconds: float, start_at: float,
             results: Any) -> None:
    """One replica: ``threads`` writers (and, for ``record``, the chainer)."""
    from server.db.session import Database
    from tenants.audit import AuditLog

    database = Database(url)
    audit = AuditLog(lambda: datetime.now(UTC))
    counts = [0] * threads
    stop_at = start_at + seconds

    def writer(index: int) -> None:
        write = audit.record if mode == "record" else audit.append
        while time.time() < start_at:
            time.sleep(0.001)
        while time.time() < stop_at:
            with database.transaction() as session:
                write(session, "synthesis", f"tenant_{index % 4}",
                      generation_id=uuid.uuid4().hex[:16], text_sha256="0" * 64, streamed=False)
            counts[index] += 1

    def chainer() -> None:
        while time.time() < stop_at:
            AuditLog.chain_pending(database)
            time.sleep(0.5)

    workers = [threading.Thread(target=writer, args=(i,)) for i in range(threads)]
    if mode == "record":
        workers.append(threading.Thread(target=chainer))
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    database.dispose()
    results.put(sum(counts))


def measure(url: str, mode: str, replicas: int, threads: int, seconds: float) -> dict[str, Any]:
    """Events committed per second by ``replicas`` processes in ``mode``; chain verified."""
    from server.db.session import Database
    from tenants.audit import AuditLog

    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    start_at = time.time() + 3.0  # let every replica import and connect first
    processes = [context.Process(target=_replica,
                                 args=(url, mode, threads, seconds, start_at, results))
                 for _ in range(replicas)]
    for process in processes:
        process.start()
    total = sum(results.get(timeout=seconds + 120) for _ in processes)
    for process in processes:
        process.join()
    database = Database(url)
    started = time.perf_counter()
    AuditLog.chain_pending(database)
    drain = time.perf_counter() - started
    report = AuditLog.verify(database)
    database.dispose()
    return {"mode": mode, "replicas": replicas, "threads_per_replica": threads,
            "events": total, "events_per_second": round(total / seconds, 1),
            "final_chaining_seconds": round(drain, 3), "chain_ok": report.ok,
            "chain_events": report.events}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", required=True, help="a PostgreSQL server (any database)")
    parser.add_argument("--replicas", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)

    from server.db.migrate import upgrade
    from server.db.session import Database
    from tests.conftest import fresh_postgres_database

    rows = []
    for replicas in args.replicas:
        for mode in ("append", "record"):
            with fresh_postgres_database(args.database_url) as url:
                database = Database(url)
                upgrade(database.engine)
                database.dispose()
                row = measure(url, mode, replicas, args.threads, args.seconds)
            print(json.dumps(row), flush=True)
            rows.append(row)
    report = {"machine": {"cpus": os.cpu_count()}, "seconds": args.seconds, "results": rows}
    if args.out:
        args.out.write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
