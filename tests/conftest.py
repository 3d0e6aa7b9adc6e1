"""Shared fixtures, and the guard that fails any test trying to reach a host that is not this machine."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus"
_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _local(address: object) -> bool:
    if not isinstance(address, tuple):
        return True  # unix sockets
    host = str(address[0])
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _guarded_connect(self: socket.socket, address: object) -> None:
    if not _local(address):
        raise AssertionError(f"test tried to reach {address!r}: tests may only talk to 127.0.0.1")
    _real_connect(self, address)  # type: ignore[arg-type]


def _guarded_connect_ex(self: socket.socket, address: object) -> int:
    if not _local(address):
        raise AssertionError(f"test tried to reach {address!r}: tests may only talk to 127.0.0.1")
    return _real_connect_ex(self, address)  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test runs with non-local connections refused, and with no proxy or real key in its environment."""
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", _guarded_connect_ex)
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key-0123456789")


@pytest.fixture(scope="session")
def stub() -> Iterator[object]:
    """A well-behaved stand-in endpoint shared by the session."""
    from remud_gen.stub import BackgroundStub

    with BackgroundStub() as server:
        yield server


@pytest.fixture(scope="session")
def corpus() -> Path:
    if not CORPUS.is_dir():
        pytest.skip(f"the shared corpus is not at {CORPUS}")
    return CORPUS


@pytest.fixture(scope="session")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A work directory after extract of the generated atlas, shared by the session: copy it before writing."""
    from typer.testing import CliRunner

    from remud_gen.cli import app
    from samplegen import write_sample

    atlas = tmp_path_factory.mktemp("atlas")
    write_sample(atlas)
    work = tmp_path_factory.mktemp("work")
    result = CliRunner().invoke(app, ["extract", str(atlas), "-o", str(work), "--workers", "1"])
    assert result.exit_code == 0, result.output
    return work
