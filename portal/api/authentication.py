"""Who calls the API. Each way in is a DRF authentication class that answers ``(user, Credential)``: the
user whose portal role the call has, and what the credential allows. Personal API tokens are the first; an
Entra access-token class (JWKS-checked bearer tokens of the portal's app registration, its app roles mapped
to a portal user's role) fits beside it in REST_FRAMEWORK's DEFAULT_AUTHENTICATION_CLASSES, answering the
same Credential, so permissions, throttling and the audit trail need nothing new."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from .models import TOKEN_PREFIX, ApiToken

#: last-used times are written at most this often per token, not on every call
LAST_USED_GRANULARITY = timedelta(minutes=1)


@dataclass(frozen=True)
class Credential:
    """What an authentication class proved about a call."""

    #: how the audit trail names it: 'API token "deploy"'
    label: str
    read_only: bool
    #: what rate limits are counted by (one bucket per credential)
    throttle_key: str


class InvalidToken(exceptions.AuthenticationFailed):
    default_code = "InvalidAuthenticationToken"


class PersonalTokenAuthentication(BaseAuthentication):
    """``Authorization: Bearer ppat_...``: a personal API token, neither expired nor revoked. A bearer token
    that is not a personal token is left to the next class (an Entra access token)."""

    keyword = "Bearer"

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword.lower().encode():
            return None
        if len(parts) != 2:
            raise InvalidToken("The Authorization header must be: Bearer <token>.")
        try:
            token = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise InvalidToken("The access token is not valid.") from None
        if not token.startswith(TOKEN_PREFIX):
            return None
        key_id = token[len(TOKEN_PREFIX):].partition("_")[0]
        row = ApiToken.objects.select_related("user").filter(key_id=key_id).first()
        if row is None or not row.matches(token):
            raise InvalidToken("The access token is not valid.")
        if row.revoked_at:
            raise InvalidToken("The access token was revoked.")
        if row.expired:
            raise InvalidToken("The access token has expired.")
        if not row.user.is_active:
            raise InvalidToken("The access token's owner is disabled.")
        now = timezone.now()
        if row.last_used_at is None or row.last_used_at < now - LAST_USED_GRANULARITY:
            ApiToken.objects.filter(pk=row.pk).update(last_used_at=now)
        credential = Credential(label=f'API token "{row.name}"', read_only=row.read_only,
                                throttle_key=f"token:{row.key_id}")
        # The audit trail (provisioning.audit.record) names the credential of every change it records.
        request._request.api_credential_label = credential.label
        return row.user, credential

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api", error="invalid_token"'


class PersonalTokenScheme(OpenApiAuthenticationExtension):
    """How the OpenAPI description names the personal tokens (the docs' Authorize button)."""

    target_class = PersonalTokenAuthentication
    name = "personalToken"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer",
                "description": "A personal API token (ppat_...), made under API tokens in the portal's user menu."}
