"""Versions of each application's provisioning configuration.

Every saved change of the configuration writes an audit event ("Update provisioning setting or
credentials", "Update attribute mappings or scope"), whichever page, API call or command made it. Once
the change is committed, the configuration as it now is becomes a new version, unless it is the same as
the last one (a save that changed nothing, new credentials, which are not configuration). Listening to
the audit trail keeps every place that saves configuration free of version bookkeeping, and the first
version of an application is the one it was created with."""

from __future__ import annotations

from functools import partial
from typing import Any

from django.db import transaction
from django.db.models.signals import post_save

from provisioning.constants import AuditActivity
from provisioning.models import Application, AuditEvent, ProvisioningJob

from .configuration import comparable, current_reason, digest, export_configuration
from .models import ConfigurationVersion

#: the audit activities that say the configuration may have changed
CONFIGURATION_ACTIVITIES = {AuditActivity.UPDATE_SETTINGS, AuditActivity.UPDATE_MAPPINGS}


def record_version(application_id, *, actor: str = "", reason: str = "") -> ConfigurationVersion | None:
    """Keep the application's configuration as it is now, if it differs from its latest version."""
    with transaction.atomic():
        application = Application.objects.select_for_update().filter(pk=application_id,
                                                                     deleted_at__isnull=True).first()
        if application is None or not ProvisioningJob.objects.filter(application=application).exists():
            return None
        configuration = export_configuration(application)
        fingerprint = digest(comparable(configuration))
        latest = ConfigurationVersion.objects.filter(application=application).order_by("-number").first()
        if latest is not None and latest.digest == fingerprint:
            return None
        return ConfigurationVersion.objects.create(
            application=application, number=(latest.number + 1) if latest else 1, actor_display=actor[:254],
            reason=reason[:300], configuration=configuration, digest=fingerprint)


def _audited(sender, instance: AuditEvent, created: bool, **kwargs) -> None:
    if not created or instance.activity not in CONFIGURATION_ACTIVITIES or instance.application_id is None:
        return
    if instance.result != "success":
        return
    reason = current_reason() or instance.detail or instance.get_activity_display()
    transaction.on_commit(partial(record_version, instance.application_id, actor=instance.actor_display,
                                  reason=reason))


def _job_created(sender, instance: ProvisioningJob, created: bool, **kwargs) -> None:
    if created:
        # after the commit: the default mappings are written in the same transaction, after the job
        transaction.on_commit(partial(record_version, instance.application_id, reason="Created"))


def record_baselines(**kwargs) -> None:
    """After ``migrate``: applications that have no version yet (added before versions were kept) get their
    configuration as it is as their first version, so the first change made to them can be rolled back."""
    for application_id in Application.objects.filter(deleted_at__isnull=True, job__isnull=False,
                                                      configuration_versions__isnull=True).values_list("pk",
                                                                                                       flat=True):
        record_version(application_id, reason="The configuration when versions began to be kept")


def connect() -> None:
    from django.apps import apps
    from django.db.models.signals import post_migrate

    post_save.connect(_audited, sender=AuditEvent, dispatch_uid="configuration-versions-audit")
    post_save.connect(_job_created, sender=ProvisioningJob, dispatch_uid="configuration-versions-job")
    # after every app's migrations (the portal's models as the code has them)
    post_migrate.connect(record_baselines, sender=apps.get_app_config("portal_api"),
                         dispatch_uid="configuration-versions-baselines")


# ---------------------------------------------------------------------------- differences
def _key(item: Any, index: int) -> str:
    if isinstance(item, dict):
        for name in ("targetAttributeName", "sourceObjectName", "id"):
            if item.get(name):
                return f"{name}={item[name]}"
    return str(index)


def flatten(value: Any, path: str = "") -> dict[str, Any]:
    """Every leaf of a configuration by its path; list items named by what identifies them (a mapping by its
    target attribute), so two configurations compare mapping by mapping, not position by position."""
    if isinstance(value, dict):
        if not value and path:
            return {path: {}}
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(flatten(item, f"{path}.{key}" if path else key))
        return out
    if isinstance(value, list):
        if not value:
            return {path: []}
        out = {}
        for index, item in enumerate(value):
            out.update(flatten(item, f"{path}[{_key(item, index)}]"))
        return out
    return {path: value}


def differences(before: dict, after: dict) -> list[dict]:
    """[{"path", "before", "after"}] for every setting, mapping field or clause that differs (configuration
    only: where a file came from is not compared)."""
    old, new = flatten(comparable(before)), flatten(comparable(after))
    paths = list(dict.fromkeys([*old, *new]))
    return [{"path": path, "before": old.get(path), "after": new.get(path)}
            for path in paths if old.get(path) != new.get(path)]
