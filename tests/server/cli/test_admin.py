"""``voxguard admin`` against a real SQLite data dir."""

from __future__ import annotations

import base64
import json
import stat
from pathlib import Path

import pytest

from server.config import Settings
from server.core import Core
from server.crypto.master import MasterKeyring
from server.storage.lock import DataDirLock
from tests.server.cli.conftest import Voxguard


def create_tenant(voxguard: Voxguard, name: str = "Acme Voices") -> str:
    result = voxguard("admin", "tenant", "create", name, "--json")
    assert result.code == 0, result.err
    return result.json()["tenant_id"]


def test_tenant_create_list_delete(voxguard: Voxguard, data_dir: Path) -> None:
    created = voxguard("admin", "tenant", "create", "Acme Voices")
    assert created.code == 0
    assert "created tenant tenant_" in created.out
    tenant_id = voxguard("admin", "tenant", "list", "--json").json()[0]["tenant_id"]
    assert "Acme Voices" in voxguard("admin", "tenant", "list").out

    deleted = voxguard("admin", "tenant", "delete", tenant_id,
                       "--receipt-out", str(data_dir.parent / "receipt.txt"))
    assert deleted.code == 0, deleted.err
    assert "keys destroyed:  tenant" in deleted.out
    assert voxguard("admin", "tenant", "list", "--json").json() == []
    again = voxguard("admin", "tenant", "delete", tenant_id)
    assert again.code == 2
    assert again.err.startswith("error: ") and "not found" in again.err


def test_key_create_prints_secret_once_and_it_authenticates(voxguard: Voxguard, data_dir: Path) -> None:
    tenant_id = create_tenant(voxguard)
    result = voxguard("admin", "key", "create", tenant_id, "--scopes", "consent,detect",
                      "--label", "backend", "--json")
    assert result.code == 0, result.err
    issued = result.json()
    assert issued["api_key"].startswith("vxg_") and issued["scopes"] == ["consent", "detect"]

    listing = voxguard("admin", "key", "list", tenant_id, "--json").json()
    assert [k["key_id"] for k in listing] == [issued["key_id"]]
    assert issued["api_key"] not in json.dumps(listing)

    core = Core.open(Settings.load())
    try:
        principal = core.api_keys.authenticate(issued["api_key"])
        assert principal.tenant_id == tenant_id
        revoked = voxguard("admin", "key", "revoke", issued["key_id"])
        assert revoked.code == 0 and "revoked API key" in revoked.out
        with pytest.raises(Exception, match="not valid"):
            core.api_keys.authenticate(issued["api_key"])
    finally:
        core.close()


def test_key_create_rejects_unknown_scope(voxguard: Voxguard, data_dir: Path) -> None:
    tenant_id = create_tenant(voxguard)
    result = voxguard("admin", "key", "create", tenant_id, "--scopes", "consent,admin")
    assert result.code == 2
    assert "unknown scope(s) admin" in result.err
    assert voxguard("admin", "key", "create", "tenant_nope", "--scopes", "detect").code == 2


def test_rotate_master_key_rewraps_everything_and_retires_old_key(voxguard: Voxguard,
                                                                   data_dir: Path) -> None:
    tenant_id = create_tenant(voxguard)
    secret = voxguard("admin", "key", "create", tenant_id, "--scopes", "detect", "--json").json()["api_key"]
    old_ids = MasterKeyring.load(data_dir / "master.key").key_ids

    result = voxguard("admin", "rotate-master-key", "--json")
    assert result.code == 0, result.err
    report = result.json()
    assert report["retired"] == list(old_ids)
    # two server secrets: API-key hashing and page-token authentication
    assert report["tenant_keys_rewrapped"] == 1 and report["server_secrets_rewrapped"] == 2
    ring = MasterKeyring.load(data_dir / "master.key")
    assert ring.key_ids == (report["primary"],)
    assert stat.S_IMODE((data_dir / "master.key").stat().st_mode) == 0o600

    core = Core.open(Settings.load())  # only the new key is left: everything must still open
    try:
        assert core.api_keys.authenticate(secret).tenant_id == tenant_id
        with core.db.transaction(write=False) as session:
            from server.db.models import TenantRow

            row = session.get(TenantRow, tenant_id)
            core.keys.open_tenant_key(tenant_id, row.wrapped_key)
    finally:
        core.close()


def test_rotate_master_key_refuses_while_a_server_uses_the_data_dir(voxguard: Voxguard,
                                                                    data_dir: Path) -> None:
    create_tenant(voxguard)
    before = MasterKeyring.load(data_dir / "master.key").key_ids
    server = DataDirLock(data_dir)
    server.acquire_shared()  # what a running server holds
    try:
        refused = voxguard("admin", "rotate-master-key")
    finally:
        server.release()
    assert refused.code == 2
    assert "a voxguard server is running on" in refused.err and "stop it before rotating" in refused.err
    assert MasterKeyring.load(data_dir / "master.key").key_ids == before
    assert voxguard("admin", "rotate-master-key").code == 0


def test_rotate_master_key_refuses_operator_key_and_explains(voxguard: Voxguard, empty_data_dir: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    key = voxguard("admin", "rotate-master-key", "--new-operator-key").out.strip()
    assert len(base64.b64decode(key)) == 32
    monkeypatch.setenv("VOXGUARD_MASTER_KEY", key)
    result = voxguard("admin", "rotate-master-key")
    assert result.code == 2
    assert "VOXGUARD_MASTER_KEY" in result.err and "--rewrap-only" in result.err
    assert not (empty_data_dir / "master.key").exists()


def test_operator_key_procedure_rewrap_only(voxguard: Voxguard, empty_data_dir: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    old = MasterKeyring.generate_operator_key()
    new = MasterKeyring.generate_operator_key()
    monkeypatch.setenv("VOXGUARD_MASTER_KEY", old)
    tenant_id = create_tenant(voxguard)
    secret = voxguard("admin", "key", "create", tenant_id, "--scopes", "detect", "--json").json()["api_key"]
    monkeypatch.setenv("VOXGUARD_MASTER_KEY", f"{new},{old}")
    result = voxguard("admin", "rotate-master-key", "--rewrap-only", "--json")
    assert result.code == 0, result.err
    assert result.json()["tenant_keys_rewrapped"] == 1
    monkeypatch.setenv("VOXGUARD_MASTER_KEY", new)
    core = Core.open(Settings.load())
    try:
        assert core.api_keys.authenticate(secret).tenant_id == tenant_id
    finally:
        core.close()


def test_receipt_key_and_verify_receipt(voxguard: Voxguard, empty_data_dir: Path, tmp_path: Path) -> None:
    assert voxguard("admin", "receipt-key").code == 2  # no data dir yet: nothing is created
    assert voxguard("admin", "init").code == 0
    tenant_id = create_tenant(voxguard)
    receipt_file = tmp_path / "receipt.txt"
    assert voxguard("admin", "tenant", "delete", tenant_id, "--receipt-out", str(receipt_file)).code == 0
    pem = voxguard("admin", "receipt-key").out
    assert pem.startswith("-----BEGIN PUBLIC KEY-----")

    valid = voxguard("admin", "verify-receipt", str(receipt_file))
    assert valid.code == 0 and valid.out.startswith("VALID") and tenant_id in valid.out

    text = receipt_file.read_text().strip()
    prefix, payload, signature = text.split(".")
    as_proto_json = tmp_path / "receipt.json"
    pad = "=" * (-len(payload) % 4)
    as_proto_json.write_text(json.dumps({
        "payloadJson": base64.b64encode(base64.urlsafe_b64decode(payload + pad)).decode(),
        "signature": base64.b64encode(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))).decode(),
    }))
    assert voxguard("admin", "verify-receipt", str(as_proto_json), "--json").json()["valid"] is True

    forged = tmp_path / "forged.txt"
    flipped = payload[:20] + ("A" if payload[20] != "A" else "B") + payload[21:]
    forged.write_text(f"{prefix}.{flipped}.{signature}\n")
    bad = voxguard("admin", "verify-receipt", str(forged))
    assert bad.code == 1 and bad.out.startswith("INVALID")

    other_key = tmp_path / "other.pem"
    from server.crypto.receipts import ReceiptSigner

    other_key.write_text(ReceiptSigner.load_or_create(tmp_path / "other.key").public_key_pem())
    assert voxguard("admin", "verify-receipt", str(receipt_file), "--public-key", str(other_key)).code == 1


def test_bad_settings_are_one_line_errors(voxguard: Voxguard, data_dir: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOXGUARD_LISTEN", "nonsense")
    result = voxguard("admin", "tenant", "list")
    assert result.code == 2
    assert result.err.startswith("error: invalid VOXGUARD_* settings") and "Traceback" not in result.err


def test_admin_and_audit_on_each_database(voxguard: Voxguard, data_dir: Path, database_url: str,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOXGUARD_DATABASE_URL", database_url)
    tenant_id = create_tenant(voxguard)
    assert voxguard("admin", "key", "create", tenant_id, "--scopes", "detect").code == 0
    assert voxguard("admin", "rotate-master-key").code == 0
    assert voxguard("admin", "key", "list", tenant_id, "--json").json()[0]["scopes"] == ["detect"]
    assert voxguard("admin", "tenant", "delete", tenant_id).code == 0
    verified = voxguard("audit", "verify", "--json")
    assert verified.code == 0 and verified.json()["events_checked"] == 3


def test_invalid_settings_are_reported_per_setting_without_a_traceback(
    voxguard: Voxguard, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VOXGUARD_ADMIN_TOKEN", "short")
    monkeypatch.setenv("VOXGUARD_CPU_WORKERS", "0")
    result = voxguard("admin", "tenant", "list")
    assert result.code == 2
    assert result.err.startswith("error: invalid VOXGUARD_* settings: ")
    assert "VOXGUARD_ADMIN_TOKEN: VOXGUARD_ADMIN_TOKEN must be at least 24 characters" in result.err
    assert "VOXGUARD_CPU_WORKERS: Input should be greater than or equal to 1" in result.err


def test_serve_reports_invalid_settings_the_same_way(voxguard: Voxguard, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOXGUARD_LISTEN", "nowhere")
    result = voxguard("serve")
    assert result.code == 2
    assert result.err.startswith("error: invalid VOXGUARD_* settings: VOXGUARD_LISTEN: VOXGUARD_LISTEN must be")


def test_a_data_dir_without_an_installation_is_refused(voxguard: Voxguard, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A mistyped VOXGUARD_DATA_DIR once created a second keyring silently."""
    typo = tmp_path / "voxgaurd"
    monkeypatch.setenv("VOXGUARD_DATA_DIR", str(typo))
    monkeypatch.delenv("VOXGUARD_MASTER_KEY", raising=False)
    refused = voxguard("admin", "tenant", "list")
    assert refused.code == 2 and "no voxguard installation in" in refused.err
    assert "voxguard admin init" in refused.err
    assert not (typo / "master.key").exists()
    from server.cli.main import main

    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    assert voxguard("admin", "init").code == 0 and (typo / "master.key").exists()
    assert "already present" in voxguard("admin", "init").out
    assert voxguard("admin", "tenant", "list").code == 0
