"""A second server on a taken address refuses to start instead of sharing the traffic."""

from __future__ import annotations

import pytest

from server.errors import FailedPrecondition
from tests.server.grpc_app.conftest import ServerThread, make_settings


def test_a_taken_address_stops_the_second_server(server: ServerThread,
                                                 tmp_path_factory: pytest.TempPathFactory) -> None:
    taken = f"127.0.0.1:{server.port}"
    with pytest.raises(FailedPrecondition, match=f"cannot listen on {taken}.*in use"):
        ServerThread(make_settings(tmp_path_factory.mktemp("second"), listen=taken))


def test_port_sharing_is_possible_when_asked_for(tmp_path_factory: pytest.TempPathFactory) -> None:
    first = ServerThread(make_settings(tmp_path_factory.mktemp("a"), listen_reuse_port=True))
    try:
        shared = f"127.0.0.1:{first.port}"
        second = ServerThread(make_settings(tmp_path_factory.mktemp("b"), listen=shared,
                                            listen_reuse_port=True))
        assert second.port == first.port
        second.stop()
    finally:
        first.stop()
