"""An application's configuration as a file: export, import (its differences shown first, applied only on
confirmation, in one transaction), and the versions every saved change keeps, compared and rolled back."""

from __future__ import annotations

import json
import re
from uuid import UUID

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_POST, require_safe

from provisioning.numbers import is_whole_number

from ..permissions import get_application_for_administrator, get_application_for_reader
from . import configuration
from .models import ConfigurationVersion
from .versions import differences

#: the largest configuration file taken (a real one is a few tens of kilobytes)
MAX_FILE_BYTES = 1024 * 1024


def _download(document: dict, application, suffix: str) -> HttpResponse:
    name = re.sub(r"[^\w.-]+", "-", application.display_name).strip("-.") or "application"
    response = HttpResponse(json.dumps(document, indent=2, ensure_ascii=False) + "\n",
                            content_type="application/json")
    response["Content-Disposition"] = content_disposition_header(
        True, f"ProvisioningConfiguration_{name}_{suffix}.json")
    return response


def _shown(changes: list[dict]) -> list[dict]:
    """Differences with their values as the page prints them ("—" for none)."""
    def text(value) -> str:
        if value is None:
            return "—"
        return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return [{"path": c["path"], "before": text(c["before"]), "after": text(c["after"])} for c in changes]


def _context(application, **extra) -> dict:
    return {"application": application, "job": application.job, "section": "configuration", **extra}


@require_safe
def page(request: HttpRequest, app_id: UUID) -> HttpResponse:
    """Export, import, and the versions."""
    application = get_application_for_reader(request, app_id)
    versions = ConfigurationVersion.objects.filter(application=application).defer("configuration")
    return render(request, "portal/api/configuration.html", _context(application, versions=versions))


@require_safe
def export(request: HttpRequest, app_id: UUID) -> HttpResponse:
    application = get_application_for_reader(request, app_id)
    return _download(configuration.export_configuration(application), application,
                     timezone.localdate().isoformat())


def _document(request: HttpRequest) -> tuple[dict | None, str]:
    """The uploaded file (or the reviewed text posted back), parsed; or why it cannot be read."""
    upload = request.FILES.get("file")
    if upload is not None:
        if upload.size > MAX_FILE_BYTES:
            return None, "The file is larger than 1 MB: it is not a provisioning configuration."
        raw = upload.read()
    else:
        raw = request.POST.get("document", "").encode()
    if not raw.strip():
        return None, "Choose a configuration file exported from the portal."
    try:
        return json.loads(raw), ""
    except (UnicodeDecodeError, ValueError) as error:
        return None, f"The file is not JSON: {error}"


@require_POST
def import_(request: HttpRequest, app_id: UUID) -> HttpResponse:
    """First the differences against the current configuration; with ``confirm``, the import itself."""
    application = get_application_for_administrator(request, app_id)
    document, problem = _document(request)
    if document is None:
        messages.error(request, f"Nothing was imported. {problem}")
        return redirect("portal:configuration", application.id)
    current = configuration.export_configuration(application)
    try:
        configuration.check_configuration(application, document)
    except configuration.ConfigurationError as error:
        return render(request, "portal/api/configuration_review.html", _context(
            application, problems=error.errors, changes=[], document=json.dumps(document)), status=400)
    source = (document.get("exportedFrom") or {}).get("displayName") or "a file"
    if request.POST.get("confirm") != "yes":
        return render(request, "portal/api/configuration_review.html", _context(
            application, changes=_shown(differences(current, document)), document=json.dumps(document), source=source,
            base=configuration.current_digest(application)))
    try:
        done = configuration.import_configuration(application, document, request,
                                                  reason=f"Imported a configuration exported from {source}",
                                                  expected_digest=request.POST.get("base", ""))
    except configuration.StaleConfiguration as error:
        messages.error(request, str(error))
        return redirect("portal:configuration", application.id)
    except configuration.ConfigurationError as error:  # the target refused the recipient of files meanwhile
        return render(request, "portal/api/configuration_review.html", _context(
            application, problems=error.errors, changes=[], document=json.dumps(document)), status=400)
    messages.success(request, "The configuration was imported." if done.changed else
                     "The file holds the configuration as it is: nothing was changed.")
    return redirect("portal:configuration", application.id)


def _version(application, number: int) -> ConfigurationVersion:
    return get_object_or_404(ConfigurationVersion, application=application, number=number)


@require_safe
def version(request: HttpRequest, app_id: UUID, number: int) -> HttpResponse:
    """One version, and what differs between it and another version (the one before, unless chosen) or the
    configuration as it is now."""
    application = get_application_for_reader(request, app_id)
    shown = _version(application, number)
    versions = ConfigurationVersion.objects.filter(application=application).only("number", "created_at")
    compare = request.GET.get("compare", "")
    if compare == "current":
        other, other_label = configuration.export_configuration(application), "the configuration now"
        changes = differences(shown.configuration, other)
    else:
        previous = (versions.filter(number=int(compare)).first() if is_whole_number(compare) else
                    versions.filter(number__lt=number).order_by("-number").first())
        if previous is None:
            other_label, changes = "", []
        else:
            previous = _version(application, previous.number)
            other_label = f"version {previous.number}"
            changes = differences(previous.configuration, shown.configuration)
    return render(request, "portal/api/configuration_version.html", _context(
        application, version=shown, versions=versions, compare=compare, other_label=other_label, changes=_shown(changes),
        document=json.dumps(shown.configuration, indent=2, ensure_ascii=False)))


@require_safe
def version_download(request: HttpRequest, app_id: UUID, number: int) -> HttpResponse:
    application = get_application_for_reader(request, app_id)
    return _download(_version(application, number).configuration, application, f"version-{number}")


@require_POST
def rollback(request: HttpRequest, app_id: UUID, number: int) -> HttpResponse:
    """Make an earlier version the configuration again (which is itself a new version)."""
    application = get_application_for_administrator(request, app_id)
    shown = _version(application, number)
    try:
        done = configuration.import_configuration(application, shown.configuration, request,
                                                  reason=f"Rolled back to version {number}")
    except configuration.ConfigurationError as error:
        messages.error(request, f"Version {number} cannot be restored: {error.errors[0].target}: "
                                f"{error.errors[0].message} Nothing was changed.")
        return redirect("portal:configuration_version", application.id, number)
    messages.success(request, f"Rolled back to version {number}." if done.changed else
                     f"Version {number} is the configuration as it is: nothing was changed.")
    return redirect("portal:configuration", application.id)
