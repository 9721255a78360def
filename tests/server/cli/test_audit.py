"""``voxguard audit``: an intact chain passes, an edited or removed row is found (exit 1)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.server.cli.conftest import Voxguard


def make_events(voxguard: Voxguard) -> str:
    tenant_id = voxguard("admin", "tenant", "create", "Audit Co", "--json").json()["tenant_id"]
    for scopes in ("consent", "detect", "enroll"):
        assert voxguard("admin", "key", "create", tenant_id, "--scopes", scopes).code == 0
    assert voxguard("admin", "tenant", "create", "Other Co").code == 0
    return tenant_id


def test_intact_chain(voxguard: Voxguard, data_dir: Path) -> None:
    make_events(voxguard)
    result = voxguard("audit", "verify")
    assert result.code == 0
    assert result.out.startswith("audit chain intact: 5 events checked, head hash ")
    report = voxguard("audit", "verify", "--json").json()
    assert report["ok"] is True and report["events_checked"] == 5 and len(report["head_hash"]) == 64


def test_edited_row_is_detected(voxguard: Voxguard, data_dir: Path) -> None:
    make_events(voxguard)
    with sqlite3.connect(data_dir / "voxguard.db") as db:
        db.execute("UPDATE audit_events SET fields_json = replace(fields_json, 'detect', 'synthesize') "
                   "WHERE seq = 3")
    result = voxguard("audit", "verify")
    assert result.code == 1
    assert "BROKEN at event #3" in result.out
    report = voxguard("audit", "verify", "--json").json()
    assert report["ok"] is False and report["broken_seq"] == 3 and report["reason"]


def test_removed_row_is_detected(voxguard: Voxguard, data_dir: Path) -> None:
    make_events(voxguard)
    with sqlite3.connect(data_dir / "voxguard.db") as db:
        db.execute("DELETE FROM audit_events WHERE seq = 2")
    result = voxguard("audit", "verify", "--json")
    assert result.code == 1
    assert result.json()["ok"] is False


def test_removing_the_newest_events_is_caught_with_a_recorded_head(voxguard: Voxguard, data_dir: Path) -> None:
    make_events(voxguard)
    head = voxguard("audit", "verify", "--json").json()["head_hash"]
    assert voxguard("audit", "verify", "--expect-head", head).code == 0
    with sqlite3.connect(data_dir / "voxguard.db") as db:
        db.execute("DELETE FROM audit_events WHERE seq = (SELECT MAX(seq) FROM audit_events)")
    assert voxguard("audit", "verify").code == 0  # the chain alone cannot tell
    result = voxguard("audit", "verify", "--expect-head", head)
    assert result.code == 1
    assert f"the recorded head {head} is not in the chain" in result.out
    assert voxguard("audit", "verify", "--expect-head", "abc").code == 2


def test_list_filters_by_tenant_and_limit(voxguard: Voxguard, data_dir: Path) -> None:
    tenant_id = make_events(voxguard)
    events = voxguard("audit", "list", "--tenant", tenant_id, "--json").json()
    assert [e["kind"] for e in events] == ["tenant.created"] + ["api_key.created"] * 3
    last_two = voxguard("audit", "list", "--limit", "2", "--json").json()
    assert [e["seq"] for e in last_two] == [4, 5]
    table = voxguard("audit", "list").out
    assert "api_key.created" in table and "scopes=" in table


def test_missing_database_is_an_error_and_creates_nothing(voxguard: Voxguard, empty_data_dir: Path) -> None:
    result = voxguard("audit", "verify")
    assert result.code == 2
    assert "no voxguard database" in result.err
    assert not empty_data_dir.exists()
