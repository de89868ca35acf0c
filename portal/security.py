"""The Content-Security-Policy of every page (the directives are in settings).

Chromium enforces ``form-action`` on the redirect that follows a form post too:
Authorize posts the Provisioning form and is sent on to the Dropbox sign-in page,
so that origin is allowed, taken from ``DROPBOX_WEB_URL`` when the page is served
(tests and the demo point it at the emulator)."""

from __future__ import annotations

from urllib.parse import urlsplit

from csp.middleware import CSPMiddleware, PolicyParts
from django.conf import settings


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def authorize_origins() -> list[str]:
    """Origins outside the portal that a form of the portal may lead to."""
    return [o for o in (origin(settings.DROPBOX_WEB_URL),) if o]


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    def get_policy_parts(self, request, response, report_only: bool = False) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        if not report_only:
            update = dict(parts.update or {})
            update["form-action"] = [*update.get("form-action", []), *authorize_origins()]
            parts.update = update
        return parts
