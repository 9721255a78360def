"""Serving TLS: a client that trusts the certificate gets through, a plaintext one does not."""

from __future__ import annotations

import datetime
import ipaddress
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from server.api.v1 import tenant_admin_pb2, tenant_admin_pb2_grpc
from tests.server.grpc_app.conftest import ADMIN_TOKEN, ServerThread, make_settings


def _self_signed(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                    x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                       critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "server.pem", folder / "server.key"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerThread, bytes]]:
    folder = tmp_path_factory.mktemp("tls")
    cert_file, key_file = _self_signed(folder)
    thread = ServerThread(make_settings(folder / "data", tls_cert_file=cert_file, tls_key_file=key_file))
    yield thread, cert_file.read_bytes()
    thread.stop()


def test_tls_clients_are_served_and_plaintext_clients_are_not(tls_server: tuple[ServerThread, bytes]) -> None:
    server, certificate = tls_server
    address = f"localhost:{server.running.port}"
    operator = (("authorization", f"Bearer {ADMIN_TOKEN}"),)
    with grpc.secure_channel(address, grpc.ssl_channel_credentials(root_certificates=certificate)) as channel:
        admin = tenant_admin_pb2_grpc.TenantAdminStub(channel)
        tenant = admin.CreateTenant(tenant_admin_pb2.CreateTenantRequest(display_name="Over TLS"),
                                    metadata=operator, timeout=10)
        assert tenant.display_name == "Over TLS"
    with grpc.insecure_channel(address) as channel:
        with pytest.raises(grpc.RpcError) as caught:
            tenant_admin_pb2_grpc.TenantAdminStub(channel).ListTenants(
                tenant_admin_pb2.ListTenantsRequest(), metadata=operator, timeout=5)
        assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
