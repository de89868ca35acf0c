"""JSON Web Tokens and the opaque tokens the emulator hands out.

Access tokens are HS256 JWTs signed with a key of this emulator (kept in the
state, so a restart with the same ``--state-file`` keeps tokens valid); that is
enough to tell our tokens from foreign ones, expired ones and forgeries. ID
tokens are RS256, as the identity platform signs them, with the public key
published at ``/{tenant}/discovery/v2.0/keys``. Skip tokens and delta tokens
are opaque to clients: base64url JSON with a MAC so tampering is detected.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _json(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


class InvalidToken(Exception):
    """A bearer token that is not ours, is malformed, or is out of its lifetime."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


# Graph's own texts for the ways a bearer token can be refused.
MSG_EMPTY = "Access token is empty."
MSG_MALFORMED = "CompactToken parsing failed with error code: 80049217"
MSG_EXPIRED = "Lifetime validation failed, the token is expired."
MSG_INVALID = "Access token validation failure."
MSG_AUDIENCE = "Access token validation failure. Invalid audience."


def sign_hs256(claims: dict, key: bytes, kid: str) -> str:
    header = {"typ": "JWT", "alg": "HS256", "kid": kid}
    signing_input = b64url(_json(header)) + "." + b64url(_json(claims))
    signature = hmac.new(key, signing_input.encode("ascii"), hashlib.sha256).digest()
    return signing_input + "." + b64url(signature)


def decode_hs256(token: str, key: bytes) -> dict:
    """Check the signature and return the claims; lifetime is checked by the caller."""
    parts = token.split(".")
    if len(parts) != 3 or not all(parts):
        raise InvalidToken(MSG_MALFORMED)
    try:
        header = json.loads(b64url_decode(parts[0]))
        claims = json.loads(b64url_decode(parts[1]))
        signature = b64url_decode(parts[2])
    except (ValueError, UnicodeDecodeError):
        raise InvalidToken(MSG_MALFORMED) from None
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise InvalidToken(MSG_MALFORMED)
    if header.get("alg") != "HS256":
        raise InvalidToken(MSG_INVALID)
    expected = hmac.new(key, (parts[0] + "." + parts[1]).encode("ascii"), hashlib.sha256).digest()
    if not hmac.compare_digest(expected, signature):
        raise InvalidToken(MSG_INVALID)
    return claims


class RsaSigner:
    """An RSA key pair made at first use, for RS256 ID tokens and the JWKS document."""

    def __init__(self) -> None:
        self._key = None
        self.kid = ""

    def _ensure(self):
        if self._key is None:
            from cryptography.hazmat.primitives.asymmetric import rsa

            self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            numbers = self._key.public_key().public_numbers()
            self._n = b64url(numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big"))
            self._e = b64url(numbers.e.to_bytes((numbers.e.bit_length() + 7) // 8, "big"))
            self.kid = b64url(hashlib.sha256(self._n.encode()).digest()[:20])
        return self._key

    def sign(self, claims: dict) -> str:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        key = self._ensure()
        header = {"typ": "JWT", "alg": "RS256", "kid": self.kid}
        signing_input = (b64url(_json(header)) + "." + b64url(_json(claims))).encode("ascii")
        signature = key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
        return signing_input.decode("ascii") + "." + b64url(signature)

    def jwks(self, issuer: str) -> dict:
        self._ensure()
        return {"keys": [{"kty": "RSA", "use": "sig", "kid": self.kid, "x5t": self.kid,
                          "n": self._n, "e": self._e, "issuer": issuer}]}


def seal(payload: dict, key: bytes) -> str:
    """An opaque, tamper-evident token (skip tokens, delta tokens, codes)."""
    body = _json(payload)
    mac = hmac.new(key, body, hashlib.sha256).digest()[:12]
    return b64url(body + mac)


def unseal(token: str, key: bytes) -> dict | None:
    """The payload of :func:`seal`, or None when the token is not one of ours."""
    try:
        raw = b64url_decode(token)
    except (ValueError, TypeError):
        return None
    if len(raw) < 13:
        return None
    body, mac = raw[:-12], raw[-12:]
    if not hmac.compare_digest(hmac.new(key, body, hashlib.sha256).digest()[:12], mac):
        return None
    try:
        payload = json.loads(body)
    except ValueError:
        return None
    return payload if isinstance(payload, dict) else None


def now() -> int:
    return int(time.time())
