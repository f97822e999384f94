"""The emulator's HTTP plumbing: a threading HTTP/1.1 server with keep-alive and connection-level faults.

`http.server` is used rather than an ASGI server because faults need the raw
socket: a reset (RST) before or after the request is processed, a hang, or a
body cut short of its Content-Length. Routing and host behaviour live
elsewhere; this module only reads requests and writes (or refuses to write)
answers.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import struct
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit


class BadRequestBody(ValueError):
    """The request body is not the JSON the route expects."""


@dataclass(frozen=True)
class EmuRequest:
    """One request as a route handler sees it."""

    method: str
    path: str
    """Percent-decoded path, without the query."""
    raw_target: str
    """The request target exactly as received (path and query, still encoded)."""
    query: Mapping[str, str]
    headers: Mapping[str, str]
    """Header names lower-cased."""
    body: bytes = b""

    def header(self, name: str, default: str = "") -> str:
        return self.headers.get(name.lower(), default)

    def json(self) -> Any:
        """The body parsed as JSON; BadRequestBody when it is not."""
        try:
            return json.loads(self.body or b"null")
        except (ValueError, UnicodeDecodeError) as exc:
            raise BadRequestBody(f"body is not JSON: {exc}") from exc


@dataclass
class EmuResponse:
    """An answer to write: status, body, headers."""

    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


def json_response(status: int, payload: Any, headers: Mapping[str, str] | None = None) -> EmuResponse:
    """A JSON answer."""
    return EmuResponse(status, json.dumps(payload).encode("utf-8"), "application/json", dict(headers or {}))


def text_response(status: int, text: str, content_type: str = "text/plain; charset=utf-8") -> EmuResponse:
    """A text (or HTML) answer."""
    return EmuResponse(status, text.encode("utf-8"), content_type)


RouteHandler = Callable[[EmuRequest, re.Match[str]], EmuResponse]
OperationOf = Callable[[EmuRequest, re.Match[str]], str]


@dataclass(frozen=True)
class Route:
    """A method + path pattern served by a handler, tagged with the host and operation faults match on."""

    method: str
    pattern: re.Pattern[str]
    handler: RouteHandler
    host: str | None = None
    op: str | OperationOf | None = None

    def operation(self, request: EmuRequest, match: re.Match[str]) -> str | None:
        return self.op(request, match) if callable(self.op) else self.op


def route(method: str, pattern: str, handler: RouteHandler, host: str | None = None,
          op: str | OperationOf | None = None) -> Route:
    """A Route whose `pattern` must match the whole decoded path."""
    return Route(method.upper(), re.compile(f"^{pattern}$"), handler, host, op)


class Exchange:
    """One request on a connection, with the ways of answering (or not) that faults need."""

    def __init__(self, handler: _Handler) -> None:
        self._handler = handler
        self.method = handler.command
        self.raw_target = handler.path
        self.headers = {k.lower(): v for k, v in handler.headers.items()}
        split = urlsplit(self.raw_target)
        self.path = unquote(split.path)
        self.query = {k: v[0] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        self._body: bytes | None = None

    def request(self) -> EmuRequest:
        """The request with whatever body has been read so far."""
        return EmuRequest(self.method, self.path, self.raw_target, self.query, self.headers, self._body or b"")

    def read_body(self) -> bytes:
        """Read the body (Content-Length or chunked) once."""
        if self._body is not None:
            return self._body
        rfile = self._handler.rfile
        if "chunked" in self.headers.get("transfer-encoding", "").lower():
            chunks = []
            while True:
                size_line = rfile.readline(65537)
                size = int(size_line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(rfile.read(size))
                rfile.readline(65537)
            self._body = b"".join(chunks)
        else:
            length = int(self.headers.get("content-length", "0") or 0)
            self._body = rfile.read(length) if length > 0 else b""
        return self._body

    def send(self, response: EmuResponse) -> None:
        """Write the whole answer (headers only for HEAD)."""
        self._write_head(response, len(response.body))
        if self.method != "HEAD" and response.body:
            self._handler.wfile.write(response.body)
        self._handler.wfile.flush()

    def send_truncated(self, response: EmuResponse) -> None:
        """Announce the full Content-Length, send about half the body, then close the connection."""
        self._write_head(response, len(response.body))
        if self.method != "HEAD":
            self._handler.wfile.write(response.body[: max(1, len(response.body) // 2)])
        self._handler.wfile.flush()
        self.close()

    def reset(self) -> None:
        """Drop the connection with a TCP reset (SO_LINGER 0) and no answer."""
        connection = self._handler.connection
        with contextlib.suppress(OSError):
            connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close()

    def hang(self, seconds: float, stop: threading.Event) -> None:
        """Say nothing for `seconds` (or until the emulator stops), then close without answering."""
        stop.wait(seconds)
        self.close()

    def close(self) -> None:
        self._handler.close_connection = True
        with contextlib.suppress(OSError):
            self._handler.connection.close()

    def _write_head(self, response: EmuResponse, length: int) -> None:
        handler = self._handler
        handler.send_response(response.status)
        handler.send_header("Content-Type", response.content_type)
        handler.send_header("Content-Length", str(length))
        for name, value in response.headers.items():
            handler.send_header(name, value)
        if self.headers.get("connection", "").lower() == "close":
            handler.send_header("Connection", "close")
            handler.close_connection = True
        handler.end_headers()


Dispatcher = Callable[[Exchange], None]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Idle keep-alive connections are dropped after this, so handler threads end.
    timeout = 60
    server: EmuHTTPServer

    def _dispatch(self) -> None:
        exchange = Exchange(self)
        try:
            self.server.dispatcher(exchange)
        except (ConnectionError, BrokenPipeError, TimeoutError, OSError):
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _dispatch

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass


class EmuHTTPServer(ThreadingHTTPServer):
    """A ThreadingHTTPServer that hands every request to one dispatcher and can close all its connections."""

    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    # socketserver's default backlog of 5 makes a burst of concurrent clients see resets.
    request_queue_size = 512

    def __init__(self, address: tuple[str, int], dispatcher: Dispatcher) -> None:
        super().__init__(address, _Handler)
        self.dispatcher = dispatcher
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Client-side drops are part of the job; real bugs surface through the dispatcher's own capture.
        pass

    def close_all_connections(self) -> None:
        """Close every open connection (idle keep-alive ones included)."""
        with self._connections_lock:
            connections = list(self._connections)
            self._connections.clear()
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                connection.close()
