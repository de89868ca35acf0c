"""How rows reach each kind of receiver. A transport is opened for one claim of outbox entries,
sends each entry's records, and is closed; every failure is a :class:`DeliveryError` whose message
is safe to store and show (redacted, no token).

``acknowledges`` says when a send is confirmed: right away (an HTTP 2xx, an fsync'd write) or only
once :meth:`close` returns (syslog over TCP, see :class:`SyslogTransport`)."""

from __future__ import annotations

import os
import socket
import ssl
from collections.abc import Sequence
from pathlib import Path

import requests

from ..audit import redact_text
from ..batching import chunked
from ..constants import StreamKind
from . import conf
from .models import StreamDestination
from .records import Record, hec_event, octet_counted, syslog_message


class DeliveryError(Exception):
    """The receiver could not be reached or refused the rows: retried later, with backoff."""

    def __init__(self, message: str):
        super().__init__(redact_text(message)[:2000])


class Transport:
    acknowledges = True

    def send(self, records: Sequence[Record]) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Release the connection; for a transport that does not acknowledge each send, confirm them all."""

    def abort(self) -> None:
        """Release the connection after a failure, confirming nothing."""
        try:
            self.close()
        except (DeliveryError, OSError):
            pass


def tls_context(ca_file: str) -> ssl.SSLContext:
    """A client context that verifies the receiver's certificate and name, against ``ca_file`` if given."""
    return ssl.create_default_context(cafile=ca_file or None)


class SyslogTransport(Transport):
    """RFC 5424 messages over TCP, octet-counted (RFC 6587), optionally in TLS (RFC 5425). TCP has no
    acknowledgement of its own: :meth:`close` half-closes the connection and waits for the receiver
    to close its side, which it does once it has read everything we sent."""

    acknowledges = False

    def __init__(self, destination: StreamDestination):
        self.timeout = conf.timeout_seconds()
        address = f"{destination.host}:{destination.port}"
        try:
            raw = socket.create_connection((destination.host, destination.port), timeout=self.timeout)
        except OSError as exc:
            raise DeliveryError(f"Could not connect to {address}: {exc.strerror or exc}") from exc
        try:
            self.sock = (tls_context(destination.ca_file).wrap_socket(raw, server_hostname=destination.host)
                         if destination.tls else raw)
        except (ssl.SSLError, ssl.CertificateError, OSError) as exc:
            raw.close()
            raise DeliveryError(f"TLS with {address} failed: {exc}") from exc

    def send(self, records: Sequence[Record]) -> None:
        try:
            self.sock.sendall(b"".join(octet_counted(syslog_message(r)) for r in records))
        except OSError as exc:
            raise DeliveryError(f"Sending to the syslog receiver failed: {exc}") from exc

    def close(self) -> None:
        sock = self.sock
        try:
            if isinstance(sock, ssl.SSLSocket):
                try:
                    # close_notify; returns with the receiver's own, or fails as it closes the connection
                    sock = sock.unwrap()
                except ssl.SSLEOFError:
                    return  # the receiver read up to our close_notify and closed
            sock.shutdown(socket.SHUT_WR)
            while sock.recv(4096):
                pass
        except OSError as exc:  # ssl.SSLError included
            raise DeliveryError(f"The syslog receiver did not confirm the end of the batch: {exc}") from exc
        finally:
            sock.close()
            self.sock.close()

    def abort(self) -> None:
        self.sock.close()


class HttpTransport(Transport):
    """JSON lines posted to an https:// address (``requests``, which verifies the certificate against
    the destination's CA file). Splunk HEC gets its own event envelope and ``Authorization: Splunk``."""

    def __init__(self, destination: StreamDestination):
        self.url = destination.url
        self.hec = destination.kind == StreamKind.SPLUNK_HEC
        self.session = requests.Session()
        # per request, not on the session: requests lets REQUESTS_CA_BUNDLE override a session's verify
        self.verify = destination.ca_file or True
        self.session.headers["Content-Type"] = "application/json" if self.hec else "application/x-ndjson"
        if destination.token:
            self.session.headers["Authorization"] = f"{'Splunk' if self.hec else 'Bearer'} {destination.token}"
        self.timeout = conf.timeout_seconds()

    def send(self, records: Sequence[Record]) -> None:
        for chunk in chunked(records, conf.rows_per_request()):
            lines = [hec_event(r) if self.hec else r.json() for r in chunk]
            self._post(b"\n".join(lines) + b"\n")

    def _post(self, body: bytes) -> None:
        try:
            answer = self.session.post(self.url, data=body, timeout=self.timeout, verify=self.verify,
                                       allow_redirects=False)
        except requests.exceptions.SSLError as exc:
            raise DeliveryError(f"The receiver's certificate was not accepted: {_reason(exc)}") from exc
        except requests.RequestException as exc:
            raise DeliveryError(f"Could not reach the receiver: {exc.__class__.__name__}: {_reason(exc)}") from exc
        if not 200 <= answer.status_code < 300:
            raise DeliveryError(f"The receiver answered HTTP {answer.status_code}: {answer.text[:300]}")

    def close(self) -> None:
        self.session.close()


def _reason(exc: Exception) -> str:
    # requests nests the cause; its innermost message says what went wrong without the whole chain
    while exc.__context__ is not None and exc.args and not isinstance(exc.args[0], str):
        exc = exc.__context__
    return str(exc)[:500]


def file_path(path: str) -> Path:
    """Where a file destination writes: ``path`` inside STREAM_FILE_DIR (relative to it, or absolute
    inside it). ValueError if it would leave that folder."""
    root = conf.file_dir().resolve()
    resolved = (root / path).resolve()
    if resolved == root or root not in resolved.parents:
        raise ValueError(f"The file must be inside {root}.")
    return resolved


class FileTransport(Transport):
    """JSON lines appended to a file (for a log shipper to tail); each send is made durable with fsync."""

    def __init__(self, destination: StreamDestination):
        try:
            path = file_path(destination.path)
            path.parent.mkdir(parents=True, exist_ok=True)
            self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        except (OSError, ValueError) as exc:
            raise DeliveryError(f"The file could not be opened: {exc}") from exc

    def send(self, records: Sequence[Record]) -> None:
        data = b"".join(r.json() + b"\n" for r in records)
        try:
            while data:
                data = data[os.write(self.fd, data):]
            os.fsync(self.fd)
        except OSError as exc:
            raise DeliveryError(f"Writing the file failed: {exc}") from exc

    def close(self) -> None:
        os.close(self.fd)


TRANSPORTS: dict[str, type[Transport]] = {
    StreamKind.SYSLOG: SyslogTransport,
    StreamKind.SPLUNK_HEC: HttpTransport,
    StreamKind.WEBHOOK: HttpTransport,
    StreamKind.FILE: FileTransport,
}


def open_transport(destination: StreamDestination) -> Transport:
    return TRANSPORTS[destination.kind](destination)
