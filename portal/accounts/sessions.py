"""The sessions people have open: recorded at sign-in, seen again by the middleware
at most once a minute, and ended by deleting them from the session store (which
takes the portal's row with it)."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from importlib import import_module

from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.dispatch import receiver
from django.http import HttpRequest
from django.utils import timezone

from provisioning import audit
from provisioning.constants import AuditActivity

from .models import UserSession

#: how often a session's "last seen" is written at most
SEEN_EVERY = timedelta(minutes=1)

_BROWSERS = [  # the first that matches names the browser: Edge and Opera also say "Chrome"
    ("Edge", re.compile(r"\bEdg(?:e|A|iOS)?/")), ("Opera", re.compile(r"\bOPR/")),
    ("Firefox", re.compile(r"\b(?:Firefox|FxiOS)/")), ("Chrome", re.compile(r"\b(?:Chrome|CriOS|Chromium)/")),
    ("Safari", re.compile(r"\bVersion/[\d.]+.*Safari/")),
]
_SYSTEMS = [
    ("iOS", re.compile(r"\b(?:iPhone|iPad|iPod)\b")), ("Android", re.compile(r"\bAndroid\b")),
    ("ChromeOS", re.compile(r"\bCrOS\b")), ("Windows", re.compile(r"\bWindows\b")),
    ("macOS", re.compile(r"\bMac OS X\b|\bMacintosh\b")), ("Linux", re.compile(r"\bLinux\b")),
]


def describe_device(user_agent: str) -> str:
    """A short name for the device a user agent describes: "Firefox on Windows"."""
    if not user_agent:
        return "Unknown device"
    browser = next((name for name, pattern in _BROWSERS if pattern.search(user_agent)), "")
    system = next((name for name, pattern in _SYSTEMS if pattern.search(user_agent)), "")
    if browser and system:
        return f"{browser} on {system}"
    return browser or system or user_agent[:60]


def _details(request: HttpRequest) -> dict:
    return {"user_agent": request.META.get("HTTP_USER_AGENT", "")[:500], "ip_address": audit.client_ip(request)}


def record_session(request: HttpRequest, user, *, signed_in_at=None) -> UserSession | None:
    """Note the request's session as ``user``'s (once its key is in the session store)."""
    key = getattr(request, "session", None) and request.session.session_key
    if not key:
        return None
    now = timezone.now()
    defaults = {"user": user, **_details(request), "last_seen": now}
    try:
        with transaction.atomic():
            if not Session.objects.filter(session_key=key).exists():
                return None
            row, _ = UserSession.objects.update_or_create(
                session_id=key, defaults=defaults, create_defaults={**defaults, "signed_in_at": signed_in_at or now})
            return row
    except IntegrityError:  # the session ended meanwhile (or another request noted it first)
        return None


@receiver(user_logged_in, dispatch_uid="portal-accounts-record-session")
def _signed_in(sender, request, user, **kwargs):
    if request is not None:
        record_session(request, user)


def _seen_recently_key(session_key: str) -> str:
    # The cache key does not carry the session key itself (a shared cache is readable by others).
    return "portal-session-seen:" + hashlib.sha256(session_key.encode()).hexdigest()


def note_seen(request: HttpRequest) -> None:
    """Write "last seen" of the request's session, at most once a minute per session and process."""
    key = request.session.session_key
    if not key or not cache.add(_seen_recently_key(key), 1, int(SEEN_EVERY.total_seconds())):
        return
    updated = UserSession.objects.filter(session_id=key, user=request.user).update(
        last_seen=timezone.now(), **_details(request))
    if not updated:
        # A session from before the portal kept this record, or one whose key changed.
        record_session(request, request.user, signed_in_at=_signed_in_estimate(request))


def _signed_in_estimate(request: HttpRequest):
    """For a session found without a record: it began when its user last signed in, if that
    was within the session's lifetime."""
    last_login = getattr(request.user, "last_login", None)
    earliest = timezone.now() - timedelta(seconds=settings.SESSION_COOKIE_AGE)
    return last_login if last_login and last_login >= earliest else None


def active_sessions(user):
    """``user``'s sessions that have not expired, most recently seen first."""
    return UserSession.objects.filter(user=user, session__expire_date__gt=timezone.now()).order_by("-last_seen")


def end_session(row: UserSession, *, request: HttpRequest, reason: str) -> None:
    """Delete the session from the session store (its row goes with it) and audit who ended it."""
    store = import_module(settings.SESSION_ENGINE).SessionStore
    target = row.user
    detail = (f"{reason}: {describe_device(row.user_agent)}, {row.ip_address or 'unknown address'}, signed in "
              f"{row.signed_in_at:%Y-%m-%d %H:%M} UTC")
    store(session_key=row.session_id).delete()
    UserSession.objects.filter(pk=row.pk).delete()  # in case the store keeps sessions elsewhere
    audit.record(AuditActivity.END_SESSION, request=request, target_type="User", target_id=str(target.pk),
                 target_display=target.email or target.username, detail=detail,
                 after={"session": row.pk, "device": describe_device(row.user_agent), "address": row.ip_address})
