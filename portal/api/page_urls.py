"""The API's pages inside the portal's namespace (portal/urls.py adds them to its own)."""

from django.urls import path

from . import pages

portal_patterns = [
    path("account/api-tokens/", pages.tokens, name="api_tokens"),
    path("account/api-tokens/<int:token_id>/revoke/", pages.revoke, name="revoke_api_token"),
]
