"""A small threaded WSGI server with HTTP/1.1 keep-alive, over TLS or plain HTTP.

Why not werkzeug's dev server: after every answer it sends ``Connection: close`` and drains the
socket by reading whatever arrives next, so it cannot keep connections alive; every call then
pays a TCP+TLS handshake, which costs more than a whole 200-record update, and clients'
connection pools are never exercised as against Salesforce, which keeps connections open.
This server reads exactly ``Content-Length`` (or the chunked body) of each request, so the next
request on the connection is intact. One thread per connection (CometD long-polls hold one for
up to 110 s); the TLS handshake happens in that thread, not in the accept loop. Idle
connections close after ``IDLE_TIMEOUT`` seconds; ``shutdown()`` closes all of them.
"""

from __future__ import annotations

import io
import logging
import socket
import ssl
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, HTTPServer
from socketserver import ThreadingMixIn

log = logging.getLogger(__name__)

IDLE_TIMEOUT = 120.0
MAX_CHUNKED_BODY = 200 * 1024 * 1024


class _LimitedReader(io.RawIOBase):
    """At most ``length`` bytes of the request body; ``drain()`` discards what is left."""

    def __init__(self, raw, length: int) -> None:
        self._raw = raw
        self.remaining = length

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if self.remaining <= 0:
            return b""
        if size is None or size < 0 or size > self.remaining:
            size = self.remaining
        data = self._raw.read(size)
        self.remaining -= len(data)
        if not data:
            self.remaining = 0
        return data

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def readline(self, size: int = -1) -> bytes:
        if self.remaining <= 0:
            return b""
        limit = self.remaining if size is None or size < 0 else min(size, self.remaining)
        data = self._raw.readline(limit)
        self.remaining -= len(data)
        return data

    def drain(self) -> None:
        while self.remaining > 0 and self.read(min(self.remaining, 65536)):
            pass


def _read_chunked(rfile) -> bytes:
    body = io.BytesIO()
    while True:
        line = rfile.readline(1024)
        if not line:
            raise ConnectionError("truncated chunked body")
        size = int(line.split(b";", 1)[0].strip() or b"0", 16)
        if size == 0:
            while rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return body.getvalue()
        body.write(rfile.read(size))
        rfile.readline(2)
        if body.tell() > MAX_CHUNKED_BODY:
            raise ConnectionError("chunked body too large")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "devorg"
    sys_version = ""
    timeout = IDLE_TIMEOUT

    def setup(self) -> None:
        # Small answers must not wait for the client's delayed ACK (Nagle: a 40 ms stall).
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        context = self.server.ssl_context
        if context is not None:
            self.request.settimeout(30)
            self.request = context.wrap_socket(self.request, server_side=True)
            self.connection = self.request
        self.server.track(self.request, add=True)
        super().setup()

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.request, add=False)

    def log_message(self, format: str, *args) -> None:
        log.debug("%s - %s", self.address_string(), format % args)

    def handle_one_request(self) -> None:
        try:
            self.raw_requestline = self.rfile.readline(65537)
        except (TimeoutError, ssl.SSLError, OSError):
            self.close_connection = True
            return
        if not self.raw_requestline:
            self.close_connection = True
            return
        if len(self.raw_requestline) > 65536:
            self.send_error(414)
            self.close_connection = True
            return
        if not self.parse_request():
            return
        try:
            self._run_wsgi()
            self.wfile.flush()
        except (ConnectionError, TimeoutError, ssl.SSLError, BrokenPipeError):
            self.close_connection = True

    def _environ(self, body) -> dict:
        path, _, query = self.path.partition("?")
        if "://" in path:  # absolute-form request target
            path = urllib.parse.urlsplit(path).path
        environ = {
            "REQUEST_METHOD": self.command,
            "SCRIPT_NAME": "",
            "PATH_INFO": urllib.parse.unquote(path, "latin-1"),
            "QUERY_STRING": query,
            "SERVER_NAME": self.server.server_name,
            "SERVER_PORT": str(self.server.server_port),
            "SERVER_PROTOCOL": self.request_version,
            "REMOTE_ADDR": self.client_address[0],
            "REMOTE_PORT": str(self.client_address[1]),
            "REQUEST_URI": self.path,
            "RAW_URI": self.path,
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "https" if self.server.ssl_context is not None else "http",
            "wsgi.input": body,
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        for key, value in self.headers.items():
            name = key.upper().replace("-", "_")
            if name in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                environ[name] = value
                continue
            name = "HTTP_" + name
            environ[name] = f"{environ[name]},{value}" if name in environ else value
        return environ

    def _run_wsgi(self) -> None:
        if self.headers.get("Expect", "").lower() == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            data = _read_chunked(self.rfile)
            body = _LimitedReader(io.BytesIO(data), len(data))
            content_length = str(len(data))
        else:
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                self.send_error(400, "bad Content-Length")
                self.close_connection = True
                return
            body = _LimitedReader(self.rfile, max(length, 0))
            content_length = self.headers.get("Content-Length")
        environ = self._environ(body)
        # The body stream ends where this request's body ends (de-chunked if need be).
        environ["wsgi.input_terminated"] = True
        environ.pop("HTTP_TRANSFER_ENCODING", None)
        if content_length is not None:
            environ["CONTENT_LENGTH"] = content_length
        state: dict = {}

        def start_response(status, headers, exc_info=None):
            if exc_info and state.get("sent"):
                raise exc_info[1].with_traceback(exc_info[2])
            state["status"] = status
            state["headers"] = headers
            return lambda data: state.setdefault("legacy", []).append(data)

        try:
            result = self.server.app(environ, start_response)
            try:
                chunks = [chunk for chunk in result if chunk]
            finally:
                if hasattr(result, "close"):
                    result.close()
        except Exception:
            log.exception("devorg WSGI app failed")
            state = {
                "status": "500 Internal Server Error",
                "headers": [("Content-Type", "text/plain")],
            }
            chunks = [b"internal error"]
            self.close_connection = True
        body.drain()  # the rest of this request's body, so the next request starts clean
        chunks = state.get("legacy", []) + chunks
        payload = b"".join(chunks)
        code, _, reason = state["status"].partition(" ")
        self.send_response_only(int(code), reason)
        has_length = False
        for key, value in state["headers"]:
            lowered = key.lower()
            if lowered == "content-length":
                has_length = True
            if lowered == "connection" and value.lower() == "close":
                self.close_connection = True
            self.send_header(key, value)
        if not has_length and int(code) not in (204, 304) and not 100 <= int(code) < 200:
            self.send_header("Content-Length", str(len(payload)))
        self.send_header("Date", self.date_time_string())
        if self.close_connection:
            self.send_header("Connection", "close")
        # Headers and body in one write: one TLS record / TCP segment train per answer.
        self._headers_buffer.append(b"\r\n")
        if self.command != "HEAD" and payload:
            self._headers_buffer.append(payload)
        self.wfile.write(b"".join(self._headers_buffer))
        self._headers_buffer = []


class KeepAliveWSGIServer(ThreadingMixIn, HTTPServer):
    """``make_server``-like: ``serve_forever()``, ``shutdown()``, ``server_close()``, ``server_port``."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(
        self, host: str, port: int, app, ssl_context: ssl.SSLContext | None = None
    ) -> None:
        self.app = app
        self.ssl_context = ssl_context
        self._connections: set = set()
        self._connections_lock = threading.Lock()
        super().__init__((host, port), _Handler)

    def server_bind(self) -> None:
        HTTPServer.server_bind(self)
        self.server_name = "localhost"

    def track(self, sock, *, add: bool) -> None:
        with self._connections_lock:
            if add:
                self._connections.add(sock)
            else:
                self._connections.discard(sock)

    def handle_error(self, request, client_address) -> None:
        log.debug("connection from %s ended with an error", client_address, exc_info=True)

    def shutdown(self) -> None:
        super().shutdown()
        with self._connections_lock:
            connections = list(self._connections)
        for sock in connections:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
