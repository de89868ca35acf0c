"""What the portal refuses in an id token, each with the reason it shows and audits: a token
signed by another key, another tenant's issuer, a personal account, an expired token, a token
for another application. Tokens are made here with a key of the test's own."""

from __future__ import annotations

import json
import time
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from portal.entra import views

TENANT = "5f0c3e52-8a61-4d3b-9c2e-7a4b1d6e8f20"
CLIENT = "1b7e4c2a-3d5f-4e6a-8b9c-0d1e2f3a4b5c"
ISSUER = f"https://login.microsoftonline.com/{TENANT}/v2.0"
JWKS = "https://login.microsoftonline.com/keys-for-this-test"


def _key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


TENANT_KEY, OTHER_KEY = _key(), _key()


@pytest.fixture(autouse=True)
def tenant_keys(monkeypatch):
    """The tenant publishes TENANT_KEY as "k1"."""
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(TENANT_KEY.public_key()))
    keys = jwt.PyJWKSet.from_dict({"keys": [{**public, "kid": "k1", "use": "sig", "alg": "RS256"}]})
    fetched = []
    monkeypatch.setattr(views, "_fetch_keys", lambda url: fetched.append(url) or keys)
    views._jwks.clear()
    yield fetched
    views._jwks.clear()


def token(key=TENANT_KEY, kid="k1", **overrides) -> str:
    now = int(time.time())
    claims = {"aud": CLIENT, "iss": ISSUER, "iat": now, "nbf": now, "exp": now + 3600, "tid": TENANT,
              "oid": str(uuid.uuid4()), "preferred_username": "pat@contoso.com", "nonce": "n"}
    claims.update(overrides)
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


def check(credential: str) -> dict:
    return views.verify_id_token(credential, jwks_uri=JWKS, issuer=ISSUER, audience=CLIENT, tenant_id=TENANT)


def test_a_token_of_the_tenant_passes():
    assert check(token())["preferred_username"] == "pat@contoso.com"


@pytest.mark.parametrize("make, reason", [
    (lambda: token(key=OTHER_KEY), "The id token's signature is not valid."),
    (lambda: token(kid="unknown"), "The id token is not signed by a key of the tenant."),
    (lambda: token(iss="https://login.microsoftonline.com/0b2f7c1e-3a4d-4e5f-8a9b-1c2d3e4f5a6b/v2.0",
                   tid="0b2f7c1e-3a4d-4e5f-8a9b-1c2d3e4f5a6b"), "The id token was issued by another tenant"),
    (lambda: token(tid="0b2f7c1e-3a4d-4e5f-8a9b-1c2d3e4f5a6b"), "The account belongs to another tenant."),
    (lambda: token(tid="9188040d-6c67-4c5b-b112-36a304b66dad"),
     "Personal Microsoft accounts cannot sign in to the portal."),
    (lambda: token(exp=int(time.time()) - 600, iat=int(time.time()) - 4000), "The id token has expired."),
    (lambda: token(aud="another-application"), "The id token was issued to another application."),
    (lambda: token(oid=None), "The id token is not valid"),
    (lambda: jwt.encode({"iss": ISSUER}, "secret", algorithm="HS256", headers={"kid": "k1"}),
     "The id token is not signed the way Microsoft Entra ID signs"),
    (lambda: "not-a-token", "The id token could not be read"),
], ids=["another key", "unknown key id", "another tenant's issuer", "another tenant's tid", "personal account",
        "expired", "another audience", "no object id", "HS256", "garbage"])
def test_it_refuses(make, reason):
    with pytest.raises(views.SignInRefused) as refused:
        check(make())
    assert str(refused.value).startswith(reason), str(refused.value)


def test_keys_are_fetched_once_and_again_for_a_new_key_id(tenant_keys):
    check(token())
    check(token())
    assert len(tenant_keys) == 1
    with pytest.raises(views.SignInRefused):
        check(token(kid="rotated"))
    assert len(tenant_keys) == 2
