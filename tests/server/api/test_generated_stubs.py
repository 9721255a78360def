"""The committed gRPC stubs are exactly what protoc makes from protos/ (not stale)."""

from __future__ import annotations

from server.api import generate


def test_committed_stubs_match_the_protos() -> None:
    assert generate.main(["--check"]) == 0


def test_every_rpc_and_field_has_a_comment() -> None:
    missing: list[str] = []
    for proto in sorted(generate.PROTO_ROOT.rglob("*.proto")):
        lines = proto.read_text().splitlines()
        for number, line in enumerate(lines):
            stripped = line.strip()
            is_rpc = stripped.startswith("rpc ")
            is_field = (
                stripped.endswith(";")
                and "=" in stripped
                and not stripped.startswith(("option", "syntax", "package", "import"))
            )
            if (is_rpc or is_field) and not lines[number - 1].strip().startswith("//"):
                missing.append(f"{proto.name}:{number + 1}: {stripped}")
    assert missing == []


def test_the_check_names_a_generator_other_than_the_locked_one() -> None:
    lock = "grpcio==1.85.4 \\\n    --hash=sha256:00\ngrpcio-tools==1.85.4 \\\n    --hash=sha256:11\n"
    assert generate.generator_mismatch(lock, "1.85.4") is None
    newer = generate.generator_mismatch(lock, "1.86.0")
    assert newer is not None and "1.86.0" in newer and "pins 1.85.4" in newer
    assert "make setup" in newer
    assert "not installed" in (generate.generator_mismatch(lock, None) or "")
    assert "make lock" in (generate.generator_mismatch("grpcio==1.85.4\n", "1.85.4") or "")


def test_the_committed_stubs_name_the_locked_generator() -> None:
    pinned = generate._LOCKED_GENERATOR.search(generate.LOCK_PATH.read_text())
    assert pinned is not None
    for stub in sorted(generate.OUTPUT_DIR.glob("*_pb2_grpc.py")):
        assert f"GRPC_GENERATED_VERSION = '{pinned.group(1)}'" in stub.read_text(), stub.name
