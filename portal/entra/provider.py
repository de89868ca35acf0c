"""Sign in with Microsoft Entra ID: django-allauth's OpenID Connect provider, held to what a
tool that can suspend a whole Dropbox team needs.

- Authorization code flow with PKCE (S256) and a ``nonce`` in every request; allauth keeps the
  state (one use, in the session) and the PKCE verifier beside it, and the nonce with them.
- The id token's signature is always checked against the tenant's JWKS (allauth skips it when
  the token came straight from the token endpoint), with its audience, expiry, issuer = the
  configured tenant's and ``tid`` = that tenant: no other tenant, no personal Microsoft account.
- The account's uid is the Entra object id (``oid``), stable and unique in the tenant.
"""

from __future__ import annotations

import secrets

from allauth.socialaccount.providers.openid_connect.provider import OpenIDConnectProvider
from django.urls import reverse
from django.utils.http import urlencode

from .views import EntraOAuth2Adapter

PROVIDER_ID = "entra"


class EntraProvider(OpenIDConnectProvider):
    id = PROVIDER_ID
    name = "Microsoft"
    oauth2_adapter_class = EntraOAuth2Adapter
    pkce_enabled_default = True
    supports_token_authentication = False

    def get_login_url(self, request, **kwargs):
        url = reverse("entra_login")
        return f"{url}?{urlencode(kwargs)}" if kwargs else url

    def get_callback_url(self):
        return reverse("entra_callback")

    def get_oauth2_adapter(self, request):
        return self.oauth2_adapter_class(request)

    def get_default_scope(self):
        return ["openid", "profile", "email"]

    def extract_uid(self, data):
        claims = data.get("id_token") or {}
        return str(claims["oid"])

    def extract_common_fields(self, data):
        claims = data.get("id_token") or {}
        upn = claims.get("preferred_username") or claims.get("email") or ""
        name = claims.get("name") or ""
        first, _, last = name.partition(" ")
        return {"email": upn.lower(), "username": upn.lower(), "first_name": first, "last_name": last}

    def extract_email_addresses(self, data):
        return []  # the sign-in name is the portal user's email; it is not mail to verify

    def redirect(self, request, process, next_url=None, data=None, **kwargs):
        nonce = secrets.token_urlsafe(32)
        auth_params = kwargs.pop("auth_params", None) or self.get_auth_params()
        auth_params["nonce"] = nonce
        return super().redirect(request, process, next_url, data, auth_params=auth_params, nonce=nonce, **kwargs)


provider_classes = [EntraProvider]
