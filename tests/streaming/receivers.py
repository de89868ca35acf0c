"""Receivers started by the tests, as a SIEM would run them: a syslog listener (RFC 5424, octet
counting, over TCP or TLS) and an HTTPS webhook receiver, both with a certificate signed by a CA
the test makes (the portal is given the CA file, as an administrator would)."""

from __future__ import annotations

import datetime
import http.server
import ipaddress
import json
import re
import socket
import socketserver
import ssl
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

BOM = "\ufeff".encode()
HEADER = re.compile(rb"^<(\d{1,3})>1 (\S+) (\S+) (\S+) (\S+) (\S+) (-|\[.*\]) $")


@dataclass
class Certificates:
    ca_file: Path
    cert_file: Path
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context


def make_certificates(directory: Path, *, host: str = "127.0.0.1") -> Certificates:
    """A CA and a server certificate for ``host`` (and localhost) signed by it, as PEM files."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test SIEM CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])).issuer_name(ca_name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(host)),
                                                        x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    directory.mkdir(parents=True, exist_ok=True)
    files = Certificates(directory / "ca.pem", directory / "server.pem", directory / "server.key")
    files.ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    files.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files.key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                 serialization.NoEncryption()))
    return files


class _Server:
    """Start and stop a socketserver in a thread; ``port`` is the one the system gave it."""

    server: socketserver.BaseServer

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def __enter__(self):
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


class SyslogListener(_Server):
    """Reads octet-counted RFC 5424 messages; ``messages`` holds (header fields, JSON body) of each.
    ``read_delay`` slows it down between messages, as a busy receiver would."""

    def __init__(self, tls: ssl.SSLContext | None = None, read_delay: float = 0.0):
        self.messages: list[tuple[tuple, dict]] = []
        self.lock = threading.Lock()
        self.read_delay = read_delay
        self.connections = 0
        listener = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self):
                sock = self.request
                if tls is not None:
                    sock = tls.wrap_socket(sock, server_side=True)
                with listener.lock:
                    listener.connections += 1
                stream = sock.makefile("rb")
                while True:
                    length = b""
                    while (char := stream.read(1)) not in (b" ", b""):
                        length += char
                    if not length:
                        break  # the sender closed the connection
                    listener.add(stream.read(int(length)))
                    if listener.read_delay:
                        time.sleep(listener.read_delay)
                stream.close()
                sock.close()

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True

    def add(self, message: bytes) -> None:
        header, _, body = message.partition(b" " + BOM)
        match = HEADER.match(header + b" ")
        assert match, f"not an RFC 5424 header: {header!r}"
        with self.lock:
            self.messages.append((match.groups(), json.loads(body)))

    def bodies(self) -> list[dict]:
        with self.lock:
            return [body for _, body in self.messages]


class WebhookReceiver(_Server):
    """An HTTPS endpoint that keeps every request (path, headers, body lines); ``status`` is what it
    answers (set it to 500 to refuse), ``delay`` how long it takes to answer."""

    def __init__(self, tls: ssl.SSLContext, status: int = 200, delay: float = 0.0):
        self.requests: list[tuple[str, dict, list[dict]]] = []
        self.lock = threading.Lock()
        self.status, self.delay = status, delay
        #: TLS connections accepted
        self.connections = 0
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keeps the connection open between requests, as a SIEM does

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if receiver.delay:
                    time.sleep(receiver.delay)
                status = receiver.status
                if 200 <= status < 300:
                    lines = [json.loads(line) for line in body.splitlines() if line.strip()]
                    with receiver.lock:
                        receiver.requests.append((self.path, dict(self.headers), lines))
                answer = b'{"text":"Success","code":0}' if status == 200 else b'{"text":"Internal error"}'
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True

            def get_request(self):
                sock, address = self.socket.accept()
                with receiver.lock:
                    receiver.connections += 1
                return tls.wrap_socket(sock, server_side=True), address

            def handle_error(self, request, client_address):
                pass  # a client that refuses our certificate (a test of exactly that)

        self.server = Server(("127.0.0.1", 0), Handler)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}/collect"

    def lines(self) -> list[dict]:
        with self.lock:
            return [line for _, _, lines in self.requests for line in lines]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
