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
