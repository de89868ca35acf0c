"""The provisioning domain: applications, the audit trail and service heartbeats.

Provisioning configuration, links, cycles and logs join these as the engine grows.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from .constants import AuditActivity, AuditCategory, AuditResult, GalleryApp


class Application(models.Model):
    """An enterprise application added from the gallery: one Dropbox team kept in
    step with the tenant through the service principal of the gallery app."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    display_name = models.CharField(max_length=120)
    gallery_app = models.CharField(max_length=40, choices=GalleryApp.choices, default=GalleryApp.DROPBOX_BUSINESS)
    #: The multi-tenant application's appId and the service principal's object id in the tenant.
    app_id = models.CharField(max_length=64, blank=True)
    service_principal_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["display_name", "created_at"]

    def __str__(self) -> str:
        return self.display_name


class AuditEvent(models.Model):
    """Who changed what in the portal, when and from where. Written only through
    :func:`provisioning.audit.record`, which redacts secrets; never edited."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    #: Kept as text so the trail survives the actor's account being deleted.
    actor_display = models.CharField(max_length=254, blank=True)
    activity = models.CharField(max_length=80, choices=AuditActivity.choices, db_index=True)
    category = models.CharField(max_length=40, choices=AuditCategory.choices)
    result = models.CharField(max_length=10, choices=AuditResult.choices, default=AuditResult.SUCCESS)
    application = models.ForeignKey(
        Application, null=True, blank=True, on_delete=models.SET_NULL, related_name="audit_events"
    )
    target_type = models.CharField(max_length=60, blank=True)
    target_id = models.CharField(max_length=120, blank=True)
    target_display = models.CharField(max_length=300, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    detail = models.TextField(blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["application", "-created_at"], name="audit_app_time"),
            models.Index(fields=["actor", "-created_at"], name="audit_actor_time"),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_display or 'System'}: {self.activity}"

    def changes(self) -> list[tuple[str, object, object]]:
        """(name, before, after) for every top-level key that differs."""
        before, after = self.before or {}, self.after or {}
        if not isinstance(before, dict) or not isinstance(after, dict):
            return [("value", before, after)]
        keys = list(dict.fromkeys([*before.keys(), *after.keys()]))
        return [(key, before.get(key), after.get(key)) for key in keys if before.get(key) != after.get(key)]


class ServiceHeartbeat(models.Model):
    """The last time a background service proved it was alive (the Celery worker
    records one each time it runs the periodic heartbeat task)."""

    name = models.CharField(max_length=40, unique=True)
    last_seen = models.DateTimeField()
    hostname = models.CharField(max_length=255, blank=True)

    def __str__(self) -> str:
        return f"{self.name} @ {self.last_seen:%H:%M:%S}"
