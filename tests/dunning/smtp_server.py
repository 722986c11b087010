"""A real SMTP server in the test process (aiosmtpd), with the misbehaviours the tests need.

``SmtpServer(mode=...)`` records every message it accepts; modes: ``ok``, ``refuse`` (550 to
every recipient), ``busy`` (451 to every recipient), ``drop`` (closes the connection after the
data, before answering). ``tls=True`` offers (and requires) STARTTLS with a certificate made for
the test by ``cryptography``; ``implicit=True`` speaks TLS from the first byte. Users log in
with ``user``/``secret`` when ``auth=True``.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import ssl
import threading
from email import message_from_bytes
from email.message import Message
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for localhost and 127.0.0.1 and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.server.mode == "refuse":
            return "550 5.1.1 mailbox unavailable"
        if self.server.mode == "busy":
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.server.mode == "drop":
            server.transport.close()
            return "421 closing"
        with self.server.lock:
            self.server.messages.append(message_from_bytes(envelope.content))
            self.server.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted"


def _authenticator(server, session, envelope, mechanism, auth_data):
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == b"user"
        and auth_data.password == b"secret"
    )
    return AuthResult(success=ok)


class SmtpServer:
    def __init__(
        self,
        mode: str = "ok",
        *,
        tls: bool = False,
        implicit: bool = False,
        auth: bool = False,
        cert: tuple[Path, Path] | None = None,
    ) -> None:
        self.mode = mode
        self.messages: list[Message] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.lock = threading.Lock()
        self.port = free_port()
        kwargs: dict = {}
        context = None
        if cert is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(str(cert[0]), str(cert[1]))
        if tls:
            kwargs.update(tls_context=context, require_starttls=True)
        if implicit:
            kwargs.update(ssl_context=context)
        if auth:
            kwargs.update(authenticator=_authenticator, auth_required=True)
        self.controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port, **kwargs)

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()

    def received(self) -> list[Message]:
        with self.lock:
            return list(self.messages)
