"""The audit trail's single writer, and the redaction of secrets it shares with
the logging configuration.

Every change an administrator makes goes through :func:`record`. Values whose
key names a secret (tokens, client secrets, passwords) never reach the
database: they are replaced by a marker that still says whether the secret was
set and whether it changed.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest

from .constants import AuditActivity, AuditCategory, AuditResult

REDACTED = "[redacted]"
REDACTED_CHANGED = "[redacted, changed]"
NOT_SET = None

_SECRET_KEY_NAME = re.compile(r"(secret|token|password|passwd|credential|private|api_?key|authorization)", re.I)
# Bearer tokens, OAuth form fields and Dropbox short-lived tokens inside free text.
_SECRET_IN_TEXT = [
    (re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9\-._~+/=]{8,}"), r"\1 " + REDACTED),
    (
        re.compile(
            r"(?i)\b(refresh_token|access_token|client_secret|code_verifier|password|id_token)"
            r"(['\"]?\s*[:=]\s*['\"]?)[^\s&'\",}]+"
        ),
        r"\1\2" + REDACTED,
    ),
    (re.compile(r"\bsl\.[A-Za-z0-9\-_]{16,}"), REDACTED),
    (re.compile(r"\beyJ[A-Za-z0-9\-_]+\.[A-Za-z0-9\-_]+\.[A-Za-z0-9\-_]+"), REDACTED),
]


def is_secret_key(name: str) -> bool:
    return bool(_SECRET_KEY_NAME.search(str(name)))


def redact(value: Any, *, compare_to: Any = None) -> Any:
    """A copy of ``value`` with every secret-named entry replaced by a marker.

    With ``compare_to`` (the other side of a before/after pair) a secret that
    differs is marked as changed, so the trail still tells that it was rotated.
    """
    if isinstance(value, dict):
        other = compare_to if isinstance(compare_to, dict) else {}
        out = {}
        for key, item in value.items():
            if is_secret_key(key) and not isinstance(item, (dict, list)):
                if item in (None, ""):
                    out[key] = NOT_SET
                elif key in other and other.get(key) != item:
                    out[key] = REDACTED_CHANGED
                else:
                    out[key] = REDACTED
            else:
                out[key] = redact(item, compare_to=other.get(key))
        return out
    if isinstance(value, (list, tuple)):
        return [redact(item) for item in value]
    if isinstance(value, str):
        return redact_text(value)
    return value


#: words one of which each pattern above needs (lower case; the first two patterns ignore case)
_NEEDED_WORDS = ("bearer", "refresh_token", "access_token", "client_secret", "code_verifier", "password", "id_token")
#: the same, as the patterns' own case-insensitive matching finds them in any text (re's case folding
#: matches a few letters outside ASCII, such as the long s, that str.lower() does not turn into ASCII)
_NEEDED = re.compile(r"(?i)bearer|refresh_token|access_token|client_secret|code_verifier|password|id_token|sl\.|eyj")


#: parts of those words, fewer to look for: each of the words holds one (a text that holds a part and not the
#: word is only looked at more closely)
_NEEDED_PARTS = ("_token", "bearer", "secret", "verifier", "password")


def might_hold_secret(text: str) -> bool:
    """Whether ``text`` holds one of the words the patterns of :func:`redact_text` need (a quick look: no
    pattern can match text for which this is False)."""
    if text.isascii():
        if "sl." in text or "eyJ" in text:
            return True
        lower = text.lower()
        return any(part in lower for part in _NEEDED_PARTS)
    return _NEEDED.search(text) is not None


def redact_text(text: str) -> str:
    """Replace tokens and secrets that appear inside free text. Text holding none of the words the
    patterns need is returned as it is without running them (most text: a log row being streamed)."""
    if not might_hold_secret(text):
        return text
    for pattern, replacement in _SECRET_IN_TEXT:
        text = pattern.sub(replacement, text)
    return text


def redact_lines(lines: list[str]) -> list[str]:
    """Each line as :func:`redact_text` returns it, looking at many lines at once: lines that together
    hold none of the words the patterns need are all kept as they are, else each half is looked at
    again, so the patterns run only on the few lines that may hold a secret."""
    if len(lines) <= 1:
        return [redact_text(line) for line in lines]
    if not might_hold_secret("\n".join(lines)):
        return lines
    half = len(lines) // 2
    return redact_lines(lines[:half]) + redact_lines(lines[half:])


def client_ip(request: HttpRequest) -> str | None:
    """The client's address; behind ``TRUSTED_PROXY_COUNT`` proxies, read from X-Forwarded-For."""
    proxies = getattr(settings, "TRUSTED_PROXY_COUNT", 0)
    if proxies:
        hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
        if len(hops) >= proxies:
            return hops[-proxies]
    return request.META.get("REMOTE_ADDR") or None


_CATEGORY = {
    AuditActivity.ADD_APPLICATION: AuditCategory.APPLICATION_MANAGEMENT,
    AuditActivity.UPDATE_APPLICATION: AuditCategory.APPLICATION_MANAGEMENT,
    AuditActivity.DELETE_APPLICATION: AuditCategory.APPLICATION_MANAGEMENT,
    AuditActivity.ADD_ASSIGNMENT: AuditCategory.APPLICATION_MANAGEMENT,
    AuditActivity.REMOVE_ASSIGNMENT: AuditCategory.APPLICATION_MANAGEMENT,
    AuditActivity.INVITE_USER: AuditCategory.USER_MANAGEMENT,
    AuditActivity.UPDATE_USER: AuditCategory.USER_MANAGEMENT,
    AuditActivity.SIGN_IN: AuditCategory.USER_MANAGEMENT,
    AuditActivity.UPDATE_ROLES_FROM_ENTRA: AuditCategory.USER_MANAGEMENT,
    AuditActivity.END_SESSION: AuditCategory.USER_MANAGEMENT,
    AuditActivity.ADD_APPLICATION_ROLE: AuditCategory.USER_MANAGEMENT,
    AuditActivity.REMOVE_APPLICATION_ROLE: AuditCategory.USER_MANAGEMENT,
}


def record(
    activity: AuditActivity,
    *,
    request: HttpRequest | None = None,
    actor=None,
    application=None,
    target=None,
    target_type: str = "",
    target_id: str = "",
    target_display: str = "",
    before: Any = None,
    after: Any = None,
    detail: str = "",
    result: AuditResult = AuditResult.SUCCESS,
):
    """Write one audit event. ``request`` supplies the actor and IP address;
    ``target`` (a model instance) supplies the target fields unless given."""
    from .models import AuditEvent
    from .streaming.outbox import enqueue_audit

    if request is not None and actor is None and getattr(request, "user", None) is not None:
        actor = request.user if request.user.is_authenticated else None
    if target is not None:
        target_type = target_type or target._meta.verbose_name.title()
        target_id = target_id or str(target.pk)
        target_display = target_display or str(target)
    if application is None and target is not None and target.__class__.__name__ == "Application":
        application = target
    actor_display = (getattr(actor, "email", "") or getattr(actor, "username", "")) if actor else ""
    # A change made through the API names the credential it came with (portal/api/authentication.py).
    via = getattr(request, "api_credential_label", "") if request is not None else ""
    if via:
        actor_display = f"{actor_display} (via {via})".strip()[:254]
    event = AuditEvent(
        actor=actor,
        actor_display=actor_display,
        activity=activity,
        category=_CATEGORY.get(activity, AuditCategory.PROVISIONING_MANAGEMENT),
        result=result,
        application=application,
        target_type=target_type,
        target_id=target_id,
        target_display=target_display[:300],
        before=redact(before, compare_to=after),
        after=redact(after, compare_to=before),
        detail=redact_text(detail),
        ip_address=client_ip(request) if request is not None else None,
    )
    with transaction.atomic():  # the event and its log streaming outbox entries, together
        event.save(force_insert=True)
        enqueue_audit(event)
    return event


class RedactSecretsFilter(logging.Filter):
    """A logging filter that removes tokens and secrets from every log line."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed log call must not hide the line
            return True
        cleaned = redact_text(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            # Tracebacks quote arguments and locals' reprs: format the traceback now, redacted.
            record.exc_text = redact_text(logging.Formatter().formatException(record.exc_info))
        return True
