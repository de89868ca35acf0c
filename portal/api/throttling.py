"""Rate limits per credential (each personal token, later each Entra client), counted in the ``api`` cache:
Redis in production (see CACHES in settings), so every worker process counts into the same bucket."""

from __future__ import annotations

from django.conf import settings
from django.core.cache import caches
from rest_framework.throttling import SimpleRateThrottle


class PerCredentialThrottle(SimpleRateThrottle):
    scope = "api"

    def __init__(self):
        self.cache = caches["api"]
        super().__init__()

    def get_rate(self) -> str:
        # read on each request, so the setting can be changed without a restart of the class (and in tests)
        return settings.API_RATE_LIMIT

    def get_cache_key(self, request, view) -> str | None:
        credential = request.auth
        key = getattr(credential, "throttle_key", None)
        if key is None:
            return None  # unauthenticated calls are refused before they cost anything
        return self.cache_format % {"scope": self.scope, "ident": key}
