"""Mappings, Attribute Mappings and scoping filters (tutorial steps 11 and 12).

Every change is made inside one transaction that first locks the object
mapping's row, so two administrators saving at once are checked one after the
other and a refused change leaves nothing half-written; every change writes one
audit event with the mapping as it was and as it is. "Preview with these changes"
checks a change exactly as Save does, then runs it as a dry run beside the
mappings as saved, and saves nothing.
"""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.db import IntegrityError, transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from provisioning import audit
from provisioning.constants import ApplyWhen, AuditActivity, MappingType, ObjectType
from provisioning.defaults import SOURCE_ATTRIBUTES, restore_default_mappings, schema_table
from provisioning.engine.config import DRAFT_OBJECT_MAPPING
from provisioning.expressions import FUNCTIONS, ExpressionError, referenced_attributes
from provisioning.expressions.scoping import UNARY
from provisioning.models import Application, AttributeMapping, ObjectMapping

from ..mapping_forms import (
    AttributeMappingForm,
    Clause,
    ObjectMappingForm,
    ScopingFiltersForm,
    attribute_warnings,
    delete_refusal,
)
from ..permissions import get_application_for_administrator, get_application_for_reader, is_administrator
from .provisioning import _preview_draft

NOUNS = {ObjectType.USER: "Users", ObjectType.GROUP: "Groups"}


# ---------------------------------------------------------------- what the audit trail records


def describe_source(mapping: AttributeMapping) -> str:
    """Where a mapping's value comes from, in a few words."""
    if mapping.mapping_type == MappingType.DIRECT:
        text = f"Direct from {mapping.source_attribute}"
    elif mapping.mapping_type == MappingType.CONSTANT:
        text = f'Constant "{mapping.constant_value}"'
    elif mapping.mapping_type == MappingType.EXPRESSION:
        text = f"Expression {mapping.expression}"
    else:
        text = "None (does not flow)"
    if mapping.default_value:
        text += f'; default "{mapping.default_value}"'
    if mapping.is_matching:
        text += f"; matching, precedence {mapping.matching_precedence}"
    if mapping.apply_when == ApplyWhen.CREATE_ONLY:
        text += "; only during object creation"
    return text


def describe_filters(filters: list) -> str:
    """Scoping filters as one line: clauses ANDed inside parentheses, filters ORed."""
    groups = []
    for group in filters or []:
        clauses = [
            f'{c["attribute"]} {c["operator"]}' + ("" if c["operator"] in UNARY else f' "{c.get("value") or ""}"')
            for c in group.get("clauses", [])
        ]
        if clauses:
            groups.append("(" + " AND ".join(clauses) + ")")
    return " OR ".join(groups) if groups else "All records"


def target_actions(object_mapping: ObjectMapping) -> str:
    actions = [name for name, allowed in (("Create", object_mapping.allow_create),
                                          ("Update", object_mapping.allow_update),
                                          ("Delete", object_mapping.allow_delete)) if allowed]
    return ", ".join(actions) or "None"


def snapshot(object_mapping: ObjectMapping) -> dict:
    """An object mapping as the audit trail shows it: one entry per attribute
    mapping, so the trail's list of changes names exactly the mapping that changed."""
    state = {
        "enabled": "Yes" if object_mapping.enabled else "No",
        "target_object_actions": target_actions(object_mapping),
        "scoping_filters": describe_filters(object_mapping.scoping_filters),
    }
    for mapping in object_mapping.attributes.order_by("id"):
        state[f"{mapping.target_attribute} mapping"] = describe_source(mapping)
    return state


def _record(request: HttpRequest, application: Application, object_mapping: ObjectMapping, before: dict,
            detail: str = "") -> None:
    after = snapshot(object_mapping)
    if after == before:
        return
    audit.record(AuditActivity.UPDATE_MAPPINGS, request=request, application=application,
                 target_type="Attribute mappings", target_id=str(object_mapping.pk),
                 target_display=object_mapping.title, before=before, after=after, detail=detail)


# ---------------------------------------------------------------- fetching with access checks


def _object_mapping(application: Application, object_type: str) -> ObjectMapping:
    if object_type not in ObjectType.values:
        raise Http404("There is no such mapping.")
    return get_object_or_404(ObjectMapping, job__application=application, object_type=object_type)


def _for_reader(request: HttpRequest, app_id: UUID, object_type: str) -> tuple[Application, ObjectMapping]:
    application = get_application_for_reader(request, app_id)
    return application, _object_mapping(application, object_type)


def _for_administrator(request: HttpRequest, app_id: UUID, object_type: str) -> tuple[Application, ObjectMapping]:
    application = get_application_for_administrator(request, app_id)
    return application, _object_mapping(application, object_type)


def _locked(object_mapping: ObjectMapping) -> ObjectMapping:
    """The object mapping's row, locked until the transaction ends (call inside one)."""
    return ObjectMapping.objects.select_for_update().select_related("job__application").get(pk=object_mapping.pk)


def _context(application: Application, object_mapping: ObjectMapping, **extra) -> dict:
    return {"application": application, "job": object_mapping.job, "object_mapping": object_mapping,
            "noun": NOUNS[object_mapping.object_type], "section": "provisioning", **extra}


# ---------------------------------------------------------------- Mappings


@require_safe
def mappings(request: HttpRequest, app_id: UUID) -> HttpResponse:
    """The Mappings list on a page of its own (the Provisioning page shows it too)."""
    application = get_application_for_reader(request, app_id)
    return render(request, "portal/mappings/mappings.html",
                  {"application": application, "job": application.job, "section": "provisioning"})


# ---------------------------------------------------------------- Attribute Mappings


def _rows(object_mapping: ObjectMapping) -> list[dict]:
    schema = schema_table(object_mapping)
    rows = []
    for mapping in object_mapping.attributes.all():
        mapping.object_mapping = object_mapping
        names = set()
        if mapping.mapping_type == MappingType.DIRECT and mapping.source_attribute:
            names = {mapping.source_attribute}
        elif mapping.mapping_type == MappingType.EXPRESSION:
            try:
                names = referenced_attributes(mapping.expression)
            except ExpressionError:
                names = set()
        rows.append({
            "mapping": mapping,
            "required": schema.get(mapping.target_attribute, {}).get("required", False),
            "delete_refusal": delete_refusal(mapping),
            "warnings": attribute_warnings(names, object_mapping.object_type),
        })
    return rows


def _render_attribute_mappings(request, application, object_mapping, form, status=200):
    if not is_administrator(request.user, application):
        for field in form.fields.values():
            field.disabled = True
    return render(request, "portal/mappings/attribute_mappings.html", _context(
        application, object_mapping, form=form, rows=_rows(object_mapping),
        scope_summary=describe_filters(object_mapping.scoping_filters),
        filter_count=len([f for f in object_mapping.scoping_filters or [] if f.get("clauses")]),
    ), status=status)


@require_http_methods(["GET", "HEAD", "POST"])
def attribute_mappings(request: HttpRequest, app_id: UUID, object_type: str) -> HttpResponse:
    """Enabled, Target Object Actions and the table of attribute mappings; Save keeps the first two."""
    if request.method != "POST":
        application, object_mapping = _for_reader(request, app_id, object_type)
        return _render_attribute_mappings(request, application, object_mapping,
                                          ObjectMappingForm(instance=object_mapping))

    application, object_mapping = _for_administrator(request, app_id, object_type)
    if request.POST.get("action") == "preview":
        form = ObjectMappingForm(request.POST, instance=object_mapping)
        if not form.is_valid():
            messages.error(request, "Nothing was previewed: correct the fields marked below.")
            return _render_attribute_mappings(request, application, object_mapping, form, status=400)
        head = {name: form.cleaned_data[name] for name in DRAFT_OBJECT_MAPPING}
        return _preview_draft(request, application, {"mappings": {object_mapping.object_type: head}})
    with transaction.atomic():
        object_mapping = _locked(object_mapping)
        before = snapshot(object_mapping)
        form = ObjectMappingForm(request.POST, instance=object_mapping)
        if form.is_valid():
            form.save()
            _record(request, application, object_mapping, before)
    if not form.is_valid():
        messages.error(request, "Nothing was saved: correct the fields marked below.")
        return _render_attribute_mappings(request, application, object_mapping, form, status=400)
    messages.success(request, f"{object_mapping.title} was saved.")
    return redirect("portal:attribute_mappings", application.id, object_mapping.object_type)


# ---------------------------------------------------------------- one attribute mapping


def _render_edit(request, application, object_mapping, form, mapping, status=200, previewing=False):
    if not is_administrator(request.user, application):
        for field in form.fields.values():
            field.disabled = True
    return render(request, "portal/mappings/edit_mapping.html", _context(
        application, object_mapping, form=form, mapping=mapping,
        source_attributes=SOURCE_ATTRIBUTES[object_mapping.object_type],
        target_schema=schema_table(object_mapping),
        delete_refusal=delete_refusal(mapping) if mapping else "",
        functions=FUNCTIONS.values(), previewing=previewing,
    ), status=status)


def _edit(request: HttpRequest, app_id: UUID, object_type: str, mapping_id: int | None) -> HttpResponse:
    if request.method != "POST":
        application, object_mapping = _for_reader(request, app_id, object_type)
        mapping = None
        if mapping_id is not None:
            mapping = get_object_or_404(AttributeMapping, pk=mapping_id, object_mapping=object_mapping)
        initial = {}
        if request.GET.get("expression"):
            # Back from the expression builder with an expression to use here (saved only by Save).
            initial = {"mapping_type": MappingType.EXPRESSION, "expression": request.GET["expression"]}
        form = AttributeMappingForm(instance=mapping, object_mapping=object_mapping, initial=initial)
        return _render_edit(request, application, object_mapping, form, mapping)

    application, object_mapping = _for_administrator(request, app_id, object_type)
    if request.POST.get("action") == "preview":
        return _preview_edit(request, application, object_mapping, mapping_id)
    with transaction.atomic():
        object_mapping = _locked(object_mapping)
        mapping = None
        if mapping_id is not None:
            mapping = get_object_or_404(AttributeMapping, pk=mapping_id, object_mapping=object_mapping)
        before = snapshot(object_mapping)
        form = AttributeMappingForm(request.POST, instance=mapping, object_mapping=object_mapping)
        saved = None
        if form.is_valid():
            try:
                with transaction.atomic():
                    saved = form.save()
            except IntegrityError:
                # The form checks this first; the constraint is the last word if a row slipped in meanwhile.
                form.add_error("target_attribute", f"{form.cleaned_data['target_attribute']} is already mapped: a "
                                                   f"target attribute takes one mapping. Edit that mapping instead.")
            else:
                _record(request, application, object_mapping, before)
    if saved is None:
        return _render_edit(request, application, object_mapping, form, mapping, status=400)
    verb = "saved" if mapping_id is not None else "added"
    messages.success(request, f"The {saved.target_attribute} mapping was {verb}.")
    for warning in form.warnings:
        messages.warning(request, f"{saved.target_attribute}: {warning}")
    return redirect("portal:attribute_mappings", application.id, object_mapping.object_type)


def _preview_edit(request: HttpRequest, application: Application, object_mapping: ObjectMapping,
                  mapping_id: int | None) -> HttpResponse:
    """Preview with these changes: the mapping as edited, checked as Save checks it, in place of the saved
    one (or added to them), in a dry run beside the mappings as saved; nothing is saved."""
    mapping = None
    if mapping_id is not None:
        mapping = get_object_or_404(AttributeMapping, pk=mapping_id, object_mapping=object_mapping)
    form = AttributeMappingForm(request.POST, instance=mapping, object_mapping=object_mapping)
    if not form.is_valid():
        return _render_edit(request, application, object_mapping, form, mapping, status=400, previewing=True)
    edited = {name: form.cleaned_data[name] for name in AttributeMappingForm.Meta.fields}
    attributes = [edited if saved.pk == mapping_id else _fields(saved) for saved in object_mapping.attributes.all()]
    if mapping is None:
        attributes.append(edited)
    for warning in form.warnings:
        messages.warning(request, f"{edited['target_attribute']}: {warning}")
    return _preview_draft(request, application, {"mappings": {object_mapping.object_type: {"attributes": attributes}}})


def _fields(mapping: AttributeMapping) -> dict:
    """A saved attribute mapping as a draft carries it."""
    return {name: getattr(mapping, name) for name in AttributeMappingForm.Meta.fields}


@require_http_methods(["GET", "HEAD", "POST"])
def add_mapping(request: HttpRequest, app_id: UUID, object_type: str) -> HttpResponse:
    """Add New Mapping."""
    return _edit(request, app_id, object_type, None)


@require_http_methods(["GET", "HEAD", "POST"])
def edit_mapping(request: HttpRequest, app_id: UUID, object_type: str, mapping_id: int) -> HttpResponse:
    """Edit Attribute: every field of one mapping."""
    return _edit(request, app_id, object_type, mapping_id)


@require_POST
def delete_mapping(request: HttpRequest, app_id: UUID, object_type: str, mapping_id: int) -> HttpResponse:
    application, object_mapping = _for_administrator(request, app_id, object_type)
    with transaction.atomic():
        object_mapping = _locked(object_mapping)
        mapping = get_object_or_404(AttributeMapping, pk=mapping_id, object_mapping=object_mapping)
        refusal = delete_refusal(mapping)
        if not refusal:
            before = snapshot(object_mapping)
            target = mapping.target_attribute
            mapping.delete()
            _record(request, application, object_mapping, before)
    if refusal:
        messages.error(request, f"The {mapping.target_attribute} mapping was not deleted: {refusal}")
    else:
        messages.success(request, f"The {target} mapping was deleted.")
    return redirect("portal:attribute_mappings", application.id, object_mapping.object_type)


@require_http_methods(["GET", "HEAD", "POST"])
def restore_defaults(request: HttpRequest, app_id: UUID, object_type: str) -> HttpResponse:
    """Restore default mappings: a confirmation page (the dialog of the Attribute
    Mappings page when scripts run), then the replacement."""
    if request.method != "POST":
        application, object_mapping = _for_reader(request, app_id, object_type)
        return render(request, "portal/mappings/restore.html", _context(application, object_mapping))

    application, object_mapping = _for_administrator(request, app_id, object_type)
    with transaction.atomic():
        object_mapping = _locked(object_mapping)
        before = snapshot(object_mapping)
        restore_default_mappings(object_mapping)
        _record(request, application, object_mapping, before, detail="Restored the default attribute mappings")
    messages.success(request, f"The default attribute mappings of {NOUNS[object_mapping.object_type].lower()} "
                              f"were restored.")
    return redirect("portal:attribute_mappings", application.id, object_mapping.object_type)


# ---------------------------------------------------------------- scoping filters


def _render_scoping(request, application, object_mapping, form, status=200, unsaved=False):
    return render(request, "portal/mappings/scoping_filters.html", _context(
        application, object_mapping, form=form, unsaved=unsaved, unary=sorted(UNARY),
        blank_clause=Clause(key="__N__"),  # type: ignore[arg-type]  # the page script's row template
        source_attributes=SOURCE_ATTRIBUTES[object_mapping.object_type],
    ), status=status)


@require_http_methods(["GET", "HEAD", "POST"])
def scoping_filters(request: HttpRequest, app_id: UUID, object_type: str) -> HttpResponse:
    """Source Object Scope: filters ORed, clauses ANDed.

    The add and remove buttons post the page and come back with the rows
    changed but nothing saved (the page's script does the same without a
    round trip); Save validates every clause and stores them all, or none.
    """
    if request.method != "POST":
        application, object_mapping = _for_reader(request, app_id, object_type)
        form = ScopingFiltersForm.from_saved(object_mapping.object_type, object_mapping.scoping_filters)
        return _render_scoping(request, application, object_mapping, form)

    application, object_mapping = _for_administrator(request, app_id, object_type)
    form = ScopingFiltersForm.from_post(object_mapping.object_type, request.POST)
    action = request.POST.get("action", "save")
    if action not in ("save", "preview"):
        form.apply(action)
        return _render_scoping(request, application, object_mapping, form, unsaved=True)
    if not form.is_valid():
        messages.error(request, "The scoping filters were not saved: correct the clauses marked below.")
        return _render_scoping(request, application, object_mapping, form, status=400, unsaved=True)
    if action == "preview":
        return _preview_draft(request, application, {"filters": {object_mapping.object_type: form.cleaned()}})
    with transaction.atomic():
        object_mapping = _locked(object_mapping)
        before = snapshot(object_mapping)
        object_mapping.scoping_filters = form.cleaned()
        object_mapping.save(update_fields=["scoping_filters"])
        _record(request, application, object_mapping, before)
    messages.success(request, "The scoping filters were saved.")
    for warning in form.warnings:
        messages.warning(request, warning)
    return redirect("portal:scoping_filters", application.id, object_mapping.object_type)
