"""The callback's checks of the id token (see provider.py)."""

from __future__ import annotations

import threading
import time

import jwt
from allauth.socialaccount.adapter import get_adapter
from allauth.socialaccount.providers.oauth2.client import OAuth2Error
from allauth.socialaccount.providers.oauth2.views import OAuth2CallbackView, OAuth2LoginView
from allauth.socialaccount.providers.openid_connect.views import OpenIDConnectOAuth2Adapter
from allauth.utils import build_absolute_uri
from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import Http404
from django.urls import reverse

#: Microsoft accounts (outlook.com, …) sign in through this tenant id; never accepted
PERSONAL_ACCOUNTS_TENANT = "9188040d-6c67-4c5b-b112-36a304b66dad"
#: clock skew allowed on exp/nbf/iat
LEEWAY_SECONDS = 120

#: jwks_uri -> (fetched at, key set); fetched again after an hour or for a key id not in it (rotation)
_jwks: dict[str, tuple[float, jwt.PyJWKSet]] = {}
_jwks_lock = threading.Lock()
JWKS_LIFETIME = 3600


class SignInRefused(OAuth2Error):
    """An id token the portal does not accept; the message says why (audited, shown)."""


def _fetch_keys(url: str) -> jwt.PyJWKSet:
    with get_adapter().get_requests_session() as session:
        answer = session.get(url, timeout=10)
        answer.raise_for_status()
        return jwt.PyJWKSet.from_dict(answer.json())


def signing_key(url: str, kid: str) -> jwt.PyJWK:
    """The tenant's signing key ``kid`` (SignInRefused when the tenant has none such)."""
    with _jwks_lock:
        cached = _jwks.get(url)
    for attempt in range(2):
        if cached is None or attempt or time.monotonic() - cached[0] > JWKS_LIFETIME:
            try:
                cached = (time.monotonic(), _fetch_keys(url))
            except Exception as exc:  # network, JSON or key format: the sign-in cannot be checked
                raise SignInRefused(f"The tenant's signing keys could not be read ({exc.__class__.__name__}).") from exc
            with _jwks_lock:
                _jwks[url] = cached
        for key in cached[1].keys:
            if key.key_id == kid:
                return key
    raise SignInRefused("The id token is not signed by a key of the tenant.")


def verify_id_token(token: str, *, jwks_uri: str, issuer: str, audience: str, tenant_id: str) -> dict:
    """The claims of an id token the configured tenant signed for this portal; SignInRefused otherwise."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise SignInRefused(f"The id token could not be read ({exc}).") from exc
    if header.get("alg") != "RS256" or not header.get("kid"):
        raise SignInRefused("The id token is not signed the way Microsoft Entra ID signs (RS256 with a key id).")
    key = signing_key(jwks_uri, header["kid"])
    try:
        claims = jwt.decode(token, key.key, algorithms=["RS256"], audience=audience, issuer=issuer,
                            leeway=LEEWAY_SECONDS, options={"require": ["exp", "iat", "iss", "aud", "oid", "tid"]})
    except jwt.InvalidSignatureError as exc:
        raise SignInRefused("The id token's signature is not valid.") from exc
    except jwt.ExpiredSignatureError as exc:
        raise SignInRefused("The id token has expired.") from exc
    except jwt.InvalidIssuerError as exc:
        raise SignInRefused("The id token was issued by another tenant or authority.") from exc
    except jwt.InvalidAudienceError as exc:
        raise SignInRefused("The id token was issued to another application.") from exc
    except jwt.PyJWTError as exc:
        raise SignInRefused(f"The id token is not valid ({exc}).") from exc
    tid = claims.get("tid")
    if tid == PERSONAL_ACCOUNTS_TENANT:
        raise SignInRefused("Personal Microsoft accounts cannot sign in to the portal.")
    if tid != tenant_id or not claims["iss"].rstrip("/").endswith(f"/{tenant_id}/v2.0"):
        raise SignInRefused("The account belongs to another tenant.")
    return claims


def entra_routes() -> dict[str, str]:
    from provisioning.connectors.routing import build_routes

    return build_routes(entra_login_url=settings.ENTRA_LOGIN_URL, graph_url=settings.GRAPH_URL)


class EntraOAuth2Adapter(OpenIDConnectOAuth2Adapter):
    def __init__(self, request) -> None:
        from .provider import PROVIDER_ID

        super().__init__(request, PROVIDER_ID)

    @property
    def authorize_url(self):
        # The browser goes where the portal is pointed (ENTRA_LOGIN_URL), as every server-side call does.
        from provisioning.connectors.routing import rewrite_url

        return rewrite_url(super().authorize_url, entra_routes())

    def get_callback_url(self, request, app):
        return build_absolute_uri(request, reverse("entra_callback"), self.redirect_uri_protocol)

    def complete_login(self, request, app, token, **kwargs):
        id_token = kwargs["response"].get("id_token")
        if not id_token:
            raise SignInRefused("Microsoft Entra ID answered without an id token.")
        claims = verify_id_token(id_token, jwks_uri=self.openid_config["jwks_uri"],
                                 issuer=self.openid_config["issuer"], audience=app.client_id,
                                 tenant_id=settings.ENTRA_TENANT_ID)
        return self.get_provider().sociallogin_from_response(request, {"id_token": claims})


def _only_when_on(view):
    @login_not_required
    def guarded(request, *args, **kwargs):
        if not settings.ENTRA_SIGN_IN:
            raise Http404("Sign in with Microsoft is not set up.")
        return view(request, *args, **kwargs)

    return guarded


oauth2_login = _only_when_on(OAuth2LoginView.adapter_view(EntraOAuth2Adapter))
oauth2_callback = _only_when_on(OAuth2CallbackView.adapter_view(EntraOAuth2Adapter))
