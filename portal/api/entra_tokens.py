"""Entra access tokens for the API: a script gets a token for the portal's app registration with msal,
exactly as for Graph (client credentials with ``api://<client id>/.default``, or a signed-in user's
delegated token), and sends it as ``Authorization: Bearer``.

The token must be signed by a key of the tenant (its JWKS, the same keys as sign-in), unexpired, issued by
the configured tenant (v2.0 ``https://login.microsoftonline.com/<tenant>/v2.0`` or v1.0
``https://sts.windows.net/<tenant>/``) for the portal's app registration (``<client id>`` or
``api://<client id>``).

- An application's token (no ``scp``) acts as a portal user of its own, ``app:<object id>``, made on
  first use, whose roles are the token's app roles (``Provisioning.Administrator``,
  ``Provisioning.Reader``) at each call; roles on one application granted to that user are honoured.
- A delegated token (``scp``) acts as the person it was issued to: the portal user who signed in with
  Microsoft as that Entra object id, with the roles the portal holds for them (refreshed from Entra as
  for their sessions). A person who never signed in has no portal user and is refused.
"""

from __future__ import annotations

import jwt
from django.conf import settings
from django.contrib.auth import get_user_model
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from portal.entra import roles as entra_roles
from portal.entra.views import LEEWAY_SECONDS, SignInRefused, signing_key
from provisioning.connectors.routing import REAL_ENTRA_LOGIN_URL

from .authentication import TOKEN_PREFIX, Credential, InvalidToken

APP_USER_PREFIX = "app:"


def verify_access_token(token: str) -> dict:
    """The claims of an access token the tenant issued for the portal's API; InvalidToken otherwise."""
    tenant, client = settings.ENTRA_TENANT_ID, settings.ENTRA_SIGN_IN_CLIENT_ID or settings.ENTRA_CLIENT_ID
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise InvalidToken("The access token is not valid.") from None
    if header.get("alg") != "RS256" or not header.get("kid"):
        raise InvalidToken("The access token is not signed the way Microsoft Entra ID signs.")
    try:
        key = signing_key(f"{REAL_ENTRA_LOGIN_URL}/{tenant}/discovery/v2.0/keys", header["kid"])
    except SignInRefused as exc:
        raise InvalidToken(f"The access token is not valid: {exc}") from None
    try:
        claims = jwt.decode(token, key.key, algorithms=["RS256"], audience=[client, f"api://{client}"],
                            leeway=LEEWAY_SECONDS, options={"require": ["exp", "iss", "aud", "tid", "oid"],
                                                            "verify_iss": False})
    except jwt.ExpiredSignatureError:
        raise InvalidToken("The access token has expired.") from None
    except jwt.InvalidAudienceError:
        raise InvalidToken("The access token was issued for another resource than the portal's API.") from None
    except jwt.PyJWTError:
        raise InvalidToken("The access token is not valid.") from None
    issuers = {f"{REAL_ENTRA_LOGIN_URL}/{tenant}/v2.0", f"https://sts.windows.net/{tenant}/"}
    if claims.get("tid") != tenant or claims.get("iss") not in issuers:
        raise InvalidToken("The access token was issued by another tenant.")
    return claims


def _application_user(claims: dict):
    """The portal user an application acts as, made on first use; roles from the token."""
    User = get_user_model()
    oid = claims["oid"]
    name = claims.get("app_displayname") or claims.get("azp") or claims.get("appid") or oid
    user, created = User.objects.get_or_create(
        username=f"{APP_USER_PREFIX}{oid}", defaults={"first_name": str(name)[:150], "email": ""})
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    if not user.is_active:
        raise InvalidToken("The application's portal user is disabled.")
    entra_roles.apply(user, entra_roles.roles_from(claims.get("roles") or [], []),
                      why="Roles from the application's access token.")
    return user


def _delegated_user(claims: dict):
    from allauth.socialaccount.models import SocialAccount

    account = SocialAccount.objects.select_related("user").filter(provider="entra", uid=claims["oid"]).first()
    if account is None or not account.user.is_active:
        raise InvalidToken("The person has no portal account: sign in to the portal with Microsoft once.")
    return account.user


class EntraTokenAuthentication(BaseAuthentication):
    """``Authorization: Bearer <Entra access token>`` (any bearer token that is not a personal token)."""

    keyword = "Bearer"

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if len(parts) != 2 or parts[0].lower() != b"bearer":
            return None
        token = parts[1].decode("ascii", "replace")
        if token.startswith(TOKEN_PREFIX) or token.count(".") != 2:
            return None  # a personal token (its class answered), or no JWT at all: not ours
        if not (settings.ENTRA_TENANT_ID and (settings.ENTRA_SIGN_IN_CLIENT_ID or settings.ENTRA_CLIENT_ID)):
            raise InvalidToken("Entra access tokens are not accepted: the portal has no tenant configured.")
        claims = verify_access_token(token)
        delegated = bool(claims.get("scp"))
        user = _delegated_user(claims) if delegated else _application_user(claims)
        who = (user.email or claims.get("upn") or claims["oid"]) if delegated else (
            claims.get("app_displayname") or claims.get("azp") or claims.get("appid") or claims["oid"])
        credential = Credential(label=f'Entra {"user" if delegated else "application"} "{who}"', read_only=False,
                                throttle_key=f"entra:{claims['oid']}")
        request._request.api_credential_label = credential.label
        return user, credential

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api", error="invalid_token"'


class EntraTokenScheme(OpenApiAuthenticationExtension):
    target_class = EntraTokenAuthentication
    name = "entraAccessToken"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                "description": "An access token of Microsoft Entra ID for the portal's app registration "
                               "(scope api://<client id>/.default), as msal gets one for Graph."}
