"""Running ``voxguard`` commands in-process against a temporary data directory."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from server.cli.main import main


@dataclass
class Result:
    """Exit code and captured output of one command."""

    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


class Voxguard:
    """Runs ``voxguard ARGS`` with stdout/stderr captured."""

    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self._capsys = capsys

    def __call__(self, *args: str) -> Result:
        self._capsys.readouterr()
        try:
            code = main(list(args))
        except SystemExit as exc:  # argparse usage errors
            code = int(exc.code or 0)
        captured = self._capsys.readouterr()
        return Result(code, captured.out, captured.err)


@pytest.fixture
def voxguard(capsys: pytest.CaptureFixture[str]) -> Voxguard:
    """The CLI, in this process."""
    return Voxguard(capsys)


@pytest.fixture
def empty_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data dir path given through VOXGUARD_DATA_DIR, with no installation in it yet
    (and no other VOXGUARD_* leaks in)."""
    for name in ("VOXGUARD_DATABASE_URL", "VOXGUARD_MASTER_KEY", "VOXGUARD_MASTER_KEY_FILE",
                 "VOXGUARD_API_KEY", "VOXGUARD_LISTEN", "VOXGUARD_SERVER"):
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "data"
    monkeypatch.setenv("VOXGUARD_DATA_DIR", str(path))
    return path


@pytest.fixture
def data_dir(empty_data_dir: Path) -> Path:
    """A new installation made with ``voxguard admin init`` (as an operator must)."""
    from server.cli.main import main

    assert main(["admin", "init"]) == 0
    return empty_data_dir


ADMIN_TOKEN = "vxa_cli-test-operator-token-0123456789"
SPEECH = Path(__file__).resolve().parents[2] / "fixtures" / "speech"


@dataclass
class LiveServer:
    """A real server on 127.0.0.1 and a tenant API key with every scope."""

    target: str
    data_dir: Path
    api_key: str
    tenant_id: str


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One in-process server per test module (one worker, statement check off)."""
    from server.api.v1 import tenant_admin_pb2, tenant_admin_pb2_grpc
    from server.cli.rpc import open_connection
    from server.config import Settings
    from server.grpc_app.background import BackgroundServer

    data_dir = tmp_path_factory.mktemp("cli-server")
    server = BackgroundServer(Settings.load(
        data_dir=data_dir, listen="127.0.0.1:0", admin_token=ADMIN_TOKEN, cpu_workers=1,
        consent_verify_statement=False, database_url=None, master_key=None,
        rate_limit_per_minute=100_000, rate_limit_burst=10_000,
    ))
    try:
        with open_connection(f"127.0.0.1:{server.port}", ADMIN_TOKEN) as c:
            admin = tenant_admin_pb2_grpc.TenantAdminStub(c.channel)
            tenant = admin.CreateTenant(tenant_admin_pb2.CreateTenantRequest(display_name="CLI Co"),
                                        metadata=c.metadata)
            key = admin.CreateApiKey(tenant_admin_pb2.CreateApiKeyRequest(
                tenant_id=tenant.tenant_id,
                scopes=[tenant_admin_pb2.SCOPE_CONSENT, tenant_admin_pb2.SCOPE_ENROLL,
                        tenant_admin_pb2.SCOPE_SYNTHESIZE, tenant_admin_pb2.SCOPE_DETECT]),
                metadata=c.metadata)
        yield LiveServer(f"127.0.0.1:{server.port}", data_dir, key.api_key, tenant.tenant_id)
    finally:
        server.stop()
