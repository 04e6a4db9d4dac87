"""For webhook tests over real sockets: a local HTTP(S) server in a thread, a stub DNS, and a network that takes
every connection, whatever address it is for, to that local server (so a "public" address can be reached)."""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from ipaddress import ip_address
from pathlib import Path
from typing import Any

import httpcore
import trustme
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

PUBLIC_ADDRESS = "93.184.216.34"
OTHER_PUBLIC_ADDRESS = "2606:2800:220:1:248:1893:25c8:1946"
SERVER_START_SECONDS = 60


@dataclass
class Received:
    path: str
    host: str
    webhook_id: str | None


@dataclass
class Recorder:
    """A receiver that answers 204 and keeps what it got; ``/redirect?to=URL`` answers 307 to that URL."""

    received: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.app = Starlette(routes=[Route("/{path:path}", self.handle, methods=["POST"])])

    async def handle(self, request: Request) -> Response:
        self.received.append(Received(request.url.path, request.headers["host"], request.headers.get("webhook-id")))
        if request.url.path == "/redirect":
            return Response(status_code=307, headers={"location": request.query_params["to"]})
        return Response(status_code=204)


def trusting(ca: trustme.CA) -> ssl.SSLContext:
    """A client TLS context that trusts the test authority ``ca`` (and nothing else)."""
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


@contextmanager
def serving(app: Any, tls: trustme.LeafCert | None = None, directory: Path | None = None) -> Iterator[int]:
    """Runs ``app`` on 127.0.0.1 (over TLS with ``tls``, its files written to ``directory``); yields the port."""
    options: dict[str, Any] = {}
    if tls is not None:
        assert directory is not None
        options["ssl_certfile"] = directory / "cert.pem"
        options["ssl_keyfile"] = directory / "key.pem"
        tls.cert_chain_pems[0].write_to_path(options["ssl_certfile"])
        tls.private_key_pem.write_to_path(options["ssl_keyfile"])
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", **options))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + SERVER_START_SECONDS
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started, "the local test server did not start"
    try:
        yield listener.getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(SERVER_START_SECONDS)
        listener.close()


class Dns:
    """A stub resolver: ``records[name]`` lists a name's addresses, or a list of such lists, one per lookup in turn
    (the last repeating), to make a name change between lookups. ``lookups`` keeps the names looked up."""

    def __init__(self, records: dict[str, list[str] | list[list[str]]] | None = None) -> None:
        self.records = dict(records or {})
        self.lookups: list[str] = []

    async def __call__(self, host: str, port: int) -> list:
        self.lookups.append(host)
        record = self.records.get(host)
        if record is None:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        answers = record if record and isinstance(record[0], list) else [record]
        answer = answers[min(self.lookups.count(host), len(answers)) - 1]
        return [ip_address(address) for address in answer]


class LoopbackNetwork(httpcore.AsyncNetworkBackend):
    """The internet in a box: every TCP connection reaches the local server on ``port``, whatever address it was
    opened for; ``connected`` keeps those addresses. Addresses in ``down`` refuse connections."""

    def __init__(self, port: int, down: Iterable[str] = ()) -> None:
        self.port, self.down = port, set(down)
        self.connected: list[tuple[str, int]] = []
        self.network = httpcore.AnyIOBackend()

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,  # noqa: ASYNC109
                          local_address: str | None = None, socket_options: Any = None) -> httpcore.AsyncNetworkStream:
        self.connected.append((host, port))
        if host in self.down:
            raise httpcore.ConnectError(f"connection to {host} refused")
        return await self.network.connect_tcp("127.0.0.1", self.port, timeout=timeout)

    async def connect_unix_socket(self, path: str, timeout: float | None = None,  # noqa: ASYNC109
                                  socket_options: Any = None) -> httpcore.AsyncNetworkStream:
        raise NotImplementedError

    async def sleep(self, seconds: float) -> None:
        await self.network.sleep(seconds)
