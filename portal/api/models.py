"""Personal API tokens and the versions of each application's provisioning configuration."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone

#: what every personal token starts with, so a leaked one is recognisable (and secret scanners can find it)
TOKEN_PREFIX = "ppat_"


class TokenScope(models.TextChoices):
    READ = "read", "Read-only"
    READ_WRITE = "read_write", "Read and write"


def hash_secret(token: str) -> str:
    """SHA-256 of the whole token. The token carries 256 random bits, so a fast hash is as safe as a slow
    one against guessing, and it is cheap enough to compute on every API call (a slow password hash would
    be paid by every request)."""
    return hashlib.sha256(token.encode()).hexdigest()


class ApiToken(models.Model):
    """A personal API token: acts with its owner's portal role, read-only or read-write, until it expires or is
    revoked. Only its SHA-256 is stored; the token itself is shown once, when it is created."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=80)
    #: the public part of the token (after TOKEN_PREFIX), to find its row and to name it on the page
    key_id = models.CharField(max_length=16, unique=True)
    secret_hash = models.CharField(max_length=64)
    scope = models.CharField(max_length=10, choices=TokenScope.choices, default=TokenScope.READ)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")

    def __str__(self) -> str:
        return f"{self.name} ({TOKEN_PREFIX}{self.key_id}…)"

    @classmethod
    def issue(cls, user, *, name: str, scope: str, expires_at: datetime) -> tuple[ApiToken, str]:
        """A new token for ``user``: (its row, the token, which is not stored and cannot be shown again)."""
        key_id = secrets.token_hex(6)
        token = f"{TOKEN_PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
        row = cls.objects.create(user=user, name=name, key_id=key_id, secret_hash=hash_secret(token), scope=scope,
                                 expires_at=expires_at)
        return row, token

    def matches(self, token: str) -> bool:
        return hmac.compare_digest(self.secret_hash, hash_secret(token))

    @property
    def read_only(self) -> bool:
        return self.scope != TokenScope.READ_WRITE

    @property
    def expired(self) -> bool:
        return self.expires_at <= timezone.now()

    @property
    def status(self) -> str:
        if self.revoked_at:
            return "Revoked"
        return "Expired" if self.expired else "Active"


class ConfigurationVersion(models.Model):
    """One saved state of an application's provisioning configuration (settings, schedule, mappings, scoping
    filters, object actions; never credentials), in the export file's shape. A new one is kept after every
    saved change; rolling back applies an older one, which makes a new version."""

    application = models.ForeignKey("provisioning.Application", on_delete=models.CASCADE,
                                    related_name="configuration_versions")
    number = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
    actor_display = models.CharField(max_length=254, blank=True)
    #: why this version exists: the change that made it ("Update attribute mappings or scope", "Imported ...")
    reason = models.CharField(max_length=300, blank=True)
    #: the configuration, as portal.api.configuration.export_configuration makes it
    configuration = models.JSONField()
    #: SHA-256 of the canonical JSON of ``configuration``: an unchanged save makes no new version
    digest = models.CharField(max_length=64)

    class Meta:
        ordering = ("-number",)
        constraints = (models.UniqueConstraint(fields=["application", "number"], name="one_version_number"),)

    def __str__(self) -> str:
        return f"{self.application} version {self.number}"
