"""The keep-alive WSGI server: connections are reused, bodies (also chunked) are read exactly,
so the next request on the connection is intact — what real clients' pools rely on."""

import json
import socket


class _Conn:
    """A raw connection that keeps what it read past one answer for the next."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buffer = b""

    def _fill(self) -> None:
        data = self.sock.recv(65536)
        if not data:
            raise AssertionError("connection closed before a full answer")
        self.buffer += data

    def response(self) -> tuple[bytes, bytes]:
        while b"\r\n\r\n" not in self.buffer:
            self._fill()
        head, _, rest = self.buffer.partition(b"\r\n\r\n")
        length = next(
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length")
        )
        while len(rest) < length:
            self._fill()
            head, _, rest = self.buffer.partition(b"\r\n\r\n")
        self.buffer = rest[length:]
        return head, rest[:length]


def test_keep_alive__two_requests_on_one_connection_incl_chunked_body(org):
    token = org.token_for()
    port = int(org.http_url.rsplit(":", 1)[1])
    body = json.dumps({"Name": "Chunked"}).encode()
    chunked = (
        (
            f"POST /services/data/v62.0/sobjects/Account HTTP/1.1\r\nHost: localhost:{port}\r\n"
            f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        ).encode()
        + f"{len(body):x}\r\n".encode()
        + body
        + b"\r\n0\r\n\r\n"
    )
    plain = (
        f"GET /services/data/v62.0/query?q=SELECT+Name+FROM+Account HTTP/1.1\r\nHost: localhost:{port}\r\n"
        f"Authorization: Bearer {token}\r\n\r\n"
    ).encode()
    conn = _Conn(port)
    with conn.sock as sock:
        sock.sendall(chunked)
        head, created = conn.response()
        assert head.startswith(b"HTTP/1.1 201") and b"connection: close" not in head.lower()
        assert json.loads(created)["success"] is True
        sock.sendall(plain)  # same connection
        head, answer = conn.response()
        assert head.startswith(b"HTTP/1.1 200")
        assert [r["Name"] for r in json.loads(answer)["records"]] == ["Chunked"]


def test_keep_alive__unread_body_does_not_corrupt_the_next_request(org):
    port = int(org.http_url.rsplit(":", 1)[1])
    body = b'{"Name": "never read"}'
    refused = (
        f"POST /services/data/v62.0/sobjects/Account HTTP/1.1\r\nHost: localhost:{port}\r\n"
        f"Authorization: Bearer nope\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    versions = f"GET /services/data/ HTTP/1.1\r\nHost: localhost:{port}\r\nConnection: close\r\n\r\n".encode()
    conn = _Conn(port)
    with conn.sock as sock:
        sock.sendall(refused + versions)  # pipelined: the 401 body must be skipped exactly
        head, _ = conn.response()
        assert head.startswith(b"HTTP/1.1 401")
        head, answer = conn.response()
        assert head.startswith(b"HTTP/1.1 200") and b"connection: close" in head.lower()
        assert json.loads(answer)[0]["version"] == "31.0"
