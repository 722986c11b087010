"""Delivery over SMTP with the standard library's ``smtplib``: STARTTLS or implicit TLS.

``Mailer.session()`` opens one connection (TLS verified against the system's CAs or
``SMTP_CA_BUNDLE``, credentials from ``SMTP_URL``) for a batch; ``send`` hands over one
message and sorts failures the way RFC 5321 does: a 4xx reply, a dropped connection or a
timeout is temporary (try again later), a 5xx reply to the recipient or the data is permanent
(park the message with the error). A failure of the connection itself (refused, TLS, login)
is a :class:`ConnectionFailure`: nothing about the message, so it is retried, never parked.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Sequence
from email.message import Message
from email.utils import parseaddr

from service.config import MailSettings


class DeliveryError(Exception):
    """A message was not delivered."""


class TemporaryFailure(DeliveryError):
    """Try again later (4xx, connection lost mid-message, timeout)."""


class PermanentFailure(DeliveryError):
    """The server refused this message for good (5xx): park it with the error."""


class ConnectionFailure(TemporaryFailure):
    """The server could not be reached or would not let us in; no message was tried."""


def _describe(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "; ".join(
            f"{rcpt}: {code} {msg.decode(errors='replace')}"
            for rcpt, (code, msg) in exc.recipients.items()
        )
    if isinstance(exc, smtplib.SMTPResponseException):
        text = exc.smtp_error
        text = text.decode(errors="replace") if isinstance(text, bytes) else str(text)
        return f"{exc.smtp_code} {text}"
    return f"{type(exc).__name__}: {exc}"


class Mailer:
    def __init__(self, settings: MailSettings) -> None:
        self.settings = settings
        self.envelope_from = parseaddr(settings.mail_from)[1]

    def _tls(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=self.settings.ca_bundle)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        return context

    def connect(self) -> smtplib.SMTP:
        s = self.settings
        try:
            if s.implicit_tls:
                conn: smtplib.SMTP = smtplib.SMTP_SSL(
                    s.host, s.port, timeout=s.timeout, context=self._tls()
                )
            else:
                conn = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
            try:
                conn.ehlo()
                if s.starttls:
                    conn.starttls(context=self._tls())
                    conn.ehlo()
                if s.username:
                    conn.login(s.username, s.password or "")
            except BaseException:
                _close(conn)
                raise
        except (smtplib.SMTPException, OSError, ssl.SSLError) as exc:
            raise ConnectionFailure(_describe(exc)) from None
        return conn

    def send(
        self, conn: smtplib.SMTP, message: Message, recipients: Sequence[str] | None = None
    ) -> None:
        """Hand ``message`` over, to ``recipients`` (default: its To, Cc and Bcc headers)."""
        try:
            refused = conn.send_message(
                message, self.envelope_from, list(recipients) if recipients else None
            )
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            error = PermanentFailure if all(c >= 500 for c in codes) else TemporaryFailure
            raise error(_describe(exc)) from None
        except smtplib.SMTPSenderRefused as exc:
            # Our own address refused: a setting to fix, not this message's fault.
            raise ConnectionFailure(_describe(exc)) from None
        except smtplib.SMTPResponseException as exc:
            error = PermanentFailure if exc.smtp_code >= 500 else TemporaryFailure
            raise error(_describe(exc)) from None
        except (TimeoutError, smtplib.SMTPException, OSError) as exc:
            raise TemporaryFailure(_describe(exc)) from None
        if refused:  # some recipients took it, some did not: delivered to the rest
            return


def _close(conn: smtplib.SMTP) -> None:
    try:
        conn.quit()
    except (smtplib.SMTPException, OSError):
        conn.close()


def close(conn: smtplib.SMTP | None) -> None:
    if conn is not None:
        _close(conn)
