"""Adding an application from the gallery and renaming it: audited, like every
change an administrator makes."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .constants import AuditActivity
from .defaults import create_job
from .gallery import GalleryEntry
from .models import Application


def add_from_gallery(entry: GalleryEntry, display_name: str, *, service_principal: dict, created: bool,
                     actor) -> Application:
    """The application and its provisioning job, for its enterprise application in the tenant: a new
    instance of the gallery template (``created``) or one already there, which no other application uses."""
    from . import audit

    app_id = service_principal.get("appId") or entry.app_id
    with transaction.atomic():
        application = Application.objects.create(display_name=display_name, gallery_app=entry.key, app_id=app_id,
                                                 service_principal_id=service_principal["id"])
        create_job(application, settings.ENTRA_TENANT_ID)
        after = {"display_name": application.display_name, "gallery_app": entry.name, "app_id": app_id,
                 "service_principal_id": service_principal["id"],
                 "service_principal": "created" if created else "already in the tenant"}
        if service_principal.get("application", {}).get("id"):
            after["application_object_id"] = service_principal["application"]["id"]
        audit.record(AuditActivity.ADD_APPLICATION, request=actor.request, actor=actor.user, target=application,
                     after=after)
    return application


def rename(application: Application, display_name: str, actor) -> None:
    from . import audit

    before = application.display_name
    with transaction.atomic():
        Application.objects.filter(pk=application.pk).update(display_name=display_name, updated_at=timezone.now())
        application.display_name = display_name
        audit.record(AuditActivity.UPDATE_APPLICATION, request=actor.request, actor=actor.user, target=application,
                     before={"display_name": before}, after={"display_name": display_name})


def delete(application: Application, actor) -> None:
    """Delete an application: provisioning stops (a running cycle after its current batch) and nothing
    changes in the target; its credentials are forgotten at once; its provisioning logs stay readable
    until the retention period ends, when the rest of it is purged. The tenant's service principal and
    its assignments are left as they are."""
    from . import audit
    from .constants import ProvisioningMode
    from .models import ProvisioningJob

    with transaction.atomic():
        if not Application.objects.filter(pk=application.pk, deleted_at__isnull=True).update(
                deleted_at=timezone.now(), deleted_by=getattr(actor.user, "email", "") or actor.label):
            return  # deleted already
        ProvisioningJob.objects.filter(application=application).update(
            enabled=False, mode=ProvisioningMode.MANUAL, stop_requested=True, target_refresh_token=None,
            next_run_at=None, updated_at=timezone.now())
        audit.record(AuditActivity.DELETE_APPLICATION, request=actor.request, actor=actor.user, target=application,
                     before={"display_name": application.display_name, "service_principal_id":
                             application.service_principal_id},
                     detail="Provisioning stopped; nothing changed in the target; the credentials were deleted; "
                            "the provisioning logs are kept until the retention period ends.")


def purge_deleted(retention_days: int) -> int:
    """Remove what is left of applications deleted longer ago than the retention period; how many."""
    cutoff = timezone.now() - timedelta(days=retention_days)
    gone = 0
    for application in Application.objects.filter(deleted_at__lt=cutoff):
        application.delete()
        gone += 1
    return gone
