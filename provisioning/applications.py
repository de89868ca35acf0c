"""Adding an application from the gallery and renaming it: audited, like every
change an administrator makes."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .constants import AuditActivity
from .defaults import create_job
from .gallery import GalleryEntry
from .models import Application


def add_from_gallery(entry: GalleryEntry, display_name: str, *, service_principal: dict, created: bool,
                     actor) -> Application:
    """The application and its provisioning job, for the gallery app's service principal in the tenant."""
    from . import audit

    with transaction.atomic():
        application = Application.objects.create(display_name=display_name, gallery_app=entry.key, app_id=entry.app_id,
                                                 service_principal_id=service_principal["id"])
        create_job(application, settings.ENTRA_TENANT_ID)
        audit.record(AuditActivity.ADD_APPLICATION, request=actor.request, actor=actor.user, target=application,
                     after={"display_name": application.display_name, "gallery_app": entry.name,
                            "app_id": entry.app_id, "service_principal_id": service_principal["id"],
                            "service_principal": "created" if created else "found in the tenant"})
    return application


def rename(application: Application, display_name: str, actor) -> None:
    from . import audit

    before = application.display_name
    with transaction.atomic():
        Application.objects.filter(pk=application.pk).update(display_name=display_name, updated_at=timezone.now())
        application.display_name = display_name
        audit.record(AuditActivity.UPDATE_APPLICATION, request=actor.request, actor=actor.user, target=application,
                     before={"display_name": before}, after={"display_name": display_name})
