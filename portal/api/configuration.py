"""An application's provisioning configuration as data: the ``synchronizationSchema`` of the API (attribute
mappings, matching precedence, scoping filters, object actions) and, around it, the export file (the
settings and the schedule too; never a credential).

Reading turns the saved rows into that shape; writing checks a whole shape with the forms of the mapping
editor and the Provisioning page (:func:`portal.mapping_forms.validate_mapping_set`, ``ScopingFiltersForm``,
``ProvisioningForm``) and then saves all of it in one transaction, or nothing.
"""

from __future__ import annotations

import hashlib
import json
import re
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from provisioning import jobs
from provisioning.constants import ApplyWhen, MappingType, ObjectType
from provisioning.models import Application, AttributeMapping, ObjectMapping, ProvisioningJob
from provisioning.targets import package_of

from ..forms import ProvisioningForm
from ..mapping_forms import MAX_SCOPING_CLAUSES, Clause, Filter, ScopingFiltersForm, validate_mapping_set

FORMAT = "#portal.provisioningConfiguration"
FORMAT_VERSION = 1
SOURCE_DIRECTORY = "Azure Active Directory"
OBJECT_NAMES = {ObjectType.USER: "User", ObjectType.GROUP: "Group"}
OBJECT_TYPES = {name: object_type for object_type, name in OBJECT_NAMES.items()}
SOURCE_TYPES = {MappingType.DIRECT: "Attribute", MappingType.CONSTANT: "Constant", MappingType.EXPRESSION: "Function"}
FLOW_TYPES = {ApplyWhen.ALWAYS: "Always", ApplyWhen.CREATE_ONLY: "ObjectAddOnly"}
OBJECT_FLOWS = (("Add", "allow_create"), ("Update", "allow_update"), ("Delete", "allow_delete"))

#: the Provisioning page's settings that a configuration file carries (Provisioning Status is not one: it is
#: the job's state, and importing never turns provisioning on or off); interval and reconciliation are the
#: file's "schedule"
SETTINGS = [name for name in ProvisioningForm.Meta.fields
            if name not in ("enabled", "interval_minutes", "reconcile_every_hours")]


class ConfigurationError(Exception):
    """A schema or a configuration file that cannot be saved; ``errors`` name the field at fault."""

    def __init__(self, errors: list[Problem]):
        self.errors = errors
        super().__init__(errors[0].message if errors else "The configuration is not valid.")


@dataclass
class Problem:
    """One refusal: where (a path into the document, as ``schema.synchronizationRules[0]...``) and why."""

    target: str
    message: str


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


SETTING_KEYS = {_camel(name): name for name in SETTINGS}


# ---------------------------------------------------------------------------- durations (ISO 8601)
_DURATION = re.compile(r"P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?\Z")


def duration(minutes: int | None) -> str | None:
    """``PT40M``, ``PT24H``, ``P1D``: Graph's schedule interval for a number of minutes."""
    if minutes is None:
        return None
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    time = (f"{hours}H" if hours else "") + (f"{mins}M" if mins else "")
    return "P" + (f"{days}D" if days else "") + (f"T{time}" if time else "") if minutes else "PT0M"


def minutes_of(text: Any) -> int:
    """The whole minutes of an ISO 8601 duration; ValueError for anything else."""
    found = _DURATION.match(text) if isinstance(text, str) and text not in ("P", "PT") else None
    if not found or text.endswith("T"):
        raise ValueError(f"{text!r} is not an ISO 8601 duration such as PT40M.")
    days, hours, mins, secs = (int(part or 0) for part in found.groups())
    if secs % 60:
        raise ValueError(f"{text!r} is not a whole number of minutes.")
    return days * 1440 + hours * 60 + mins + secs // 60


# ---------------------------------------------------------------------------- reading
def _source(mapping: AttributeMapping) -> dict | None:
    kind = mapping.mapping_type
    if kind == MappingType.DIRECT:
        return {"type": "Attribute", "name": mapping.source_attribute, "expression": f"[{mapping.source_attribute}]",
                "parameters": []}
    if kind == MappingType.CONSTANT:
        return {"type": "Constant", "name": mapping.constant_value,
                "expression": '"' + mapping.constant_value.replace('"', '\\"') + '"', "parameters": []}
    if kind == MappingType.EXPRESSION:
        head = re.match(r"\s*([A-Za-z]\w*)\s*\(", mapping.expression)
        return {"type": "Function", "name": head.group(1) if head else "", "expression": mapping.expression,
                "parameters": []}
    return None  # mapping type None: nothing flows (Graph has no such source)


def _attribute_mapping(mapping: AttributeMapping) -> dict:
    return {
        "targetAttributeName": mapping.target_attribute,
        "source": _source(mapping),
        "defaultValue": mapping.default_value or None,
        "flowType": FLOW_TYPES.get(mapping.apply_when, "Always"),
        "flowBehavior": "FlowWhenChanged",
        "matchingPriority": mapping.matching_precedence or 0 if mapping.is_matching else 0,
        "exportMissingReferences": False,
    }


def _scope(filters: list) -> dict | None:
    groups = [{"name": group.get("title") or "",
               "clauses": [{"operatorName": clause["operator"], "sourceOperandName": clause["attribute"],
                            "targetOperand": {"values": [clause.get("value") or ""]}}
                           for clause in group.get("clauses", [])]}
              for group in filters or [] if group.get("clauses")]
    return {"groups": groups} if groups else None


def _object_mapping(object_mapping: ObjectMapping) -> dict:
    return {
        "name": object_mapping.title,
        "enabled": object_mapping.enabled,
        "flowTypes": ", ".join(word for word, name in OBJECT_FLOWS if getattr(object_mapping, name)) or "None",
        "sourceObjectName": OBJECT_NAMES[object_mapping.object_type],
        "targetObjectName": OBJECT_NAMES[object_mapping.object_type],
        "scope": _scope(object_mapping.scoping_filters),
        "attributeMappings": [_attribute_mapping(m) for m in object_mapping.attributes.order_by("id")],
    }


def schema_body(job: ProvisioningJob) -> dict:
    """The synchronizationSchema of a job, without its ``id`` and ``version``."""
    package = package_of(job)
    mappings = job.object_mappings.order_by("object_type").prefetch_related("attributes")
    # users first, as the portal lists them
    ordered = sorted(mappings, key=lambda m: list(OBJECT_NAMES).index(m.object_type))
    return {
        "synchronizationRules": [{
            "id": package.key,
            "name": f"{SOURCE_DIRECTORY} to {package.names.service}",
            "sourceDirectoryName": SOURCE_DIRECTORY,
            "targetDirectoryName": package.names.service,
            "editable": True,
            "objectMappings": [_object_mapping(m) for m in ordered],
        }],
        "directories": [],
    }


def digest(document: Any) -> str:
    return hashlib.sha256(json.dumps(document, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def schema_of(job: ProvisioningJob) -> dict:
    """The job's synchronizationSchema as ``GET .../schema`` answers it; ``version`` changes with any change."""
    body = schema_body(job)
    return {"id": job.job_id, "version": digest(body)[:16], **body}


def export_configuration(application: Application) -> dict:
    """The whole provisioning configuration of an application, as a file to keep, review or import."""
    job = application.job
    settings_ = {}
    for name in SETTINGS:
        value = getattr(job, name)
        settings_[_camel(name)] = value
    return {
        "@odata.type": FORMAT,
        "formatVersion": FORMAT_VERSION,
        "exportedFrom": {"applicationId": str(application.pk), "displayName": application.display_name,
                         "servicePrincipalId": application.service_principal_id, "jobId": job.job_id},
        "settings": settings_,
        "schedule": {"interval": duration(job.interval_minutes),
                     "reconciliationInterval": duration(job.reconcile_every_hours * 60)
                     if job.reconcile_every_hours else None},
        "schema": schema_body(job),
    }


def comparable(configuration: dict) -> dict:
    """What of a configuration file is configuration (not where it came from)."""
    return {key: configuration.get(key) for key in ("settings", "schedule", "schema")}


# ---------------------------------------------------------------------------- checking
@dataclass
class ObjectMappingPlan:
    """What saving one object mapping of a schema writes."""

    object_mapping: ObjectMapping
    head: dict
    filters: list
    attributes: list[dict]


@dataclass
class Plan:
    """A checked configuration, ready to save: the object mappings, and the settings (None: a schema alone)."""

    mappings: list[ObjectMappingPlan] = field(default_factory=list)
    settings: dict | None = None
    warnings: list[str] = field(default_factory=list)


def _expect(value, kind, problems: list[Problem], target: str, what: str):
    if not isinstance(value, kind):
        problems.append(Problem(target, f"{what} must be {'an object' if kind is dict else 'a list'}."))
        return None
    return value


def _source_fields(source: Any, target: str, problems: list[Problem]) -> dict:
    if source is None:
        return {"mapping_type": MappingType.NONE}
    if not isinstance(source, dict):
        problems.append(Problem(target, "source must be an object with a type (Attribute, Constant or Function), "
                                        "or null for a mapping through which nothing flows."))
        return {}
    kind = source.get("type")
    field_, value = {"Attribute": ("name", "source_attribute"), "Constant": ("name", "constant_value"),
                     "Function": ("expression", "expression")}.get(kind if isinstance(kind, str) else "", (None, None))
    if field_ is None:
        problems.append(Problem(f"{target}.type", f"{kind!r} is not a source type: use Attribute, Constant or "
                                                  "Function."))
        return {}
    text = source.get(field_)
    if text is not None and not isinstance(text, str):
        problems.append(Problem(f"{target}.{field_}", f"{field_} is text."))
        return {}
    kinds = {"Attribute": MappingType.DIRECT, "Constant": MappingType.CONSTANT, "Function": MappingType.EXPRESSION}
    return {"mapping_type": kinds[kind], value: text or ""}


_FORM_FIELDS = {"mapping_type": "source.type", "source_attribute": "source.name", "constant_value": "source.name",
                "expression": "source.expression", "default_value": "defaultValue",
                "target_attribute": "targetAttributeName", "is_matching": "matchingPriority",
                "matching_precedence": "matchingPriority", "apply_when": "flowType"}


def _attribute_rows(items: list, target: str, problems: list[Problem]) -> list[dict] | None:
    rows = []
    flows = {value: key for key, value in FLOW_TYPES.items()}
    for index, item in enumerate(items):
        here = f"{target}[{index}]"
        if not isinstance(item, dict):
            problems.append(Problem(here, "An attribute mapping must be an object."))
            continue
        row = _source_fields(item.get("source"), f"{here}.source", problems)
        priority = item.get("matchingPriority") or 0
        if not isinstance(priority, int) or isinstance(priority, bool) or priority < 0:
            problems.append(Problem(f"{here}.matchingPriority", "matchingPriority is a whole number: 0 for a mapping "
                                                                "that does not match objects, 1 or more for one that "
                                                                "does (1 is tried first)."))
            priority = 0
        flow = item.get("flowType") or "Always"
        if not isinstance(flow, str) or flow not in flows:
            problems.append(Problem(f"{here}.flowType", f"{flow!r} is not a flow type: use Always or ObjectAddOnly."))
        default = item.get("defaultValue")
        if default is not None and not isinstance(default, str):
            problems.append(Problem(f"{here}.defaultValue", "defaultValue is text (or null)."))
        name = item.get("targetAttributeName")
        if not isinstance(name, str):
            problems.append(Problem(f"{here}.targetAttributeName", "targetAttributeName is the name of an attribute "
                                                                   "of the target."))
            continue
        rows.append({**row, "target_attribute": name,
                     "default_value": default if isinstance(default, str) else "",
                     "is_matching": priority > 0, "matching_precedence": priority or None,
                     "apply_when": flows.get(flow, ApplyWhen.ALWAYS) if isinstance(flow, str) else ApplyWhen.ALWAYS})
    return rows


def _filters(scope: Any, target: str, object_type: str, problems: list[Problem]) -> list | None:
    if scope is None:
        return []
    groups = (_expect(scope, dict, problems, target, "scope") or {}).get("groups", [])
    if _expect(groups, list, problems, f"{target}.groups", "scope.groups") is None:
        return None
    filters, key, count = [], 0, 0
    for number, group in enumerate(groups):
        here = f"{target}.groups[{number}]"
        if not isinstance(group, dict) or not isinstance(group.get("clauses"), list):
            problems.append(Problem(here, "A scope group is an object with a list of clauses."))
            continue
        clauses = []
        for clause in group["clauses"]:
            key, count = key + 1, count + 1
            operand = clause.get("targetOperand") if isinstance(clause, dict) else None
            values = operand.get("values") if isinstance(operand, dict) else []
            if not isinstance(clause, dict) or not isinstance(values, list) or len(values) > 1:
                problems.append(Problem(f"{here}.clauses", "A clause is an object with operatorName, "
                                                           "sourceOperandName and targetOperand.values (one value)."))
                continue
            clauses.append(Clause(key=key, attribute=str(clause.get("sourceOperandName") or "").strip(),
                                  operator=str(clause.get("operatorName") or ""),
                                  value=str(values[0]) if values else ""))
        filters.append(Filter(key=number + 1, clauses=clauses, title=str(group.get("name") or "").strip()))
    if count > MAX_SCOPING_CLAUSES:
        problems.append(Problem(target, f"A mapping takes at most {MAX_SCOPING_CLAUSES} scoping clauses."))
        return None
    form = ScopingFiltersForm(object_type, filters)
    # is_valid drops blank clauses: remember where each clause was, to name the one at fault
    positions = {c.key: (f.key - 1, i) for f in filters for i, c in enumerate(f.clauses)}
    if not form.is_valid():
        for group in form.filters:
            if group.error:
                problems.append(Problem(f"{target}.groups[{group.key - 1}].name", group.error))
            for clause in group.clauses:
                if clause.error:
                    where, index = positions[clause.key]
                    problems.append(Problem(f"{target}.groups[{where}].clauses[{index}]", clause.error))
        return None
    return form.cleaned()


def check_schema(job: ProvisioningJob, schema: Any, *, prefix: str = "") -> Plan:
    """Check a synchronizationSchema exactly as the mapping editor and the scoping filter editor check what
    they save; ConfigurationError names every field at fault."""
    problems: list[Problem] = []
    plan = Plan()
    rules = (_expect(schema, dict, problems, prefix or "schema", "The schema") or {}).get("synchronizationRules")
    if not problems and (not isinstance(rules, list) or len(rules) != 1 or not isinstance(rules[0], dict)):
        problems.append(Problem(f"{prefix}synchronizationRules", "synchronizationRules must hold the one rule of "
                                                                 "this application."))
    if problems:
        raise ConfigurationError(problems)
    items = rules[0].get("objectMappings")
    here = f"{prefix}synchronizationRules[0].objectMappings"
    if _expect(items, list, problems, here, "objectMappings") is None:
        raise ConfigurationError(problems)
    saved = {m.object_type: m for m in job.object_mappings.all()}
    seen: set[str] = set()
    for index, item in enumerate(items):
        target = f"{here}[{index}]"
        name = item.get("sourceObjectName") if isinstance(item, dict) else None
        object_type = OBJECT_TYPES.get(name) if isinstance(name, str) else None
        if object_type is None or object_type not in saved:
            problems.append(Problem(f"{target}.sourceObjectName", "sourceObjectName must be User or Group."))
            continue
        if object_type in seen:
            problems.append(Problem(f"{target}.sourceObjectName", f"{item['sourceObjectName']} is mapped twice."))
            continue
        seen.add(object_type)
        plan.mappings.append(_check_object_mapping(saved[object_type], item, target, problems))
    for object_type in saved:
        if object_type not in seen:
            problems.append(Problem(here, f"The {OBJECT_NAMES[object_type]} mapping is missing: a schema holds every "
                                          "object mapping of the application."))
    if problems:
        raise ConfigurationError(problems)
    return plan


def _check_object_mapping(object_mapping: ObjectMapping, item: dict, target: str,
                          problems: list[Problem]) -> ObjectMappingPlan:
    enabled = item.get("enabled", True)
    if not isinstance(enabled, bool):
        problems.append(Problem(f"{target}.enabled", "enabled is true or false."))
    elif object_mapping.object_type == ObjectType.USER and not enabled:
        problems.append(Problem(f"{target}.enabled", "The users mapping is always enabled: it is what provisions "
                                                     "the target's members."))
    flows = {word.strip() for word in str(item.get("flowTypes") or "").split(",") if word.strip()} - {"None"}
    unknown = flows - {word for word, _ in OBJECT_FLOWS}
    if unknown:
        problems.append(Problem(f"{target}.flowTypes", f"{', '.join(sorted(unknown))}: flowTypes combines Add, "
                                                       "Update and Delete."))
    head = {"enabled": bool(enabled), **{name: word in flows for word, name in OBJECT_FLOWS}}
    filters = _filters(item.get("scope"), f"{target}.scope", object_mapping.object_type, problems)
    attributes = []
    items = item.get("attributeMappings")
    if _expect(items, list, problems, f"{target}.attributeMappings", "attributeMappings") is not None:
        before = len(problems)
        rows = _attribute_rows(items, f"{target}.attributeMappings", problems)
        if len(problems) == before:
            attributes, refusals = validate_mapping_set(object_mapping, rows)
            for refusal in refusals:
                where = f"{target}.attributeMappings"
                if refusal.index is not None:
                    where += f"[{refusal.index}].{_FORM_FIELDS.get(refusal.field, refusal.field)}"
                problems.append(Problem(where, refusal.message))
    return ObjectMappingPlan(object_mapping, head, filters or [], attributes)


def _form_data(values: dict, job: ProvisioningJob) -> dict:
    """The Provisioning form's POST for a file's settings (check boxes left out when false)."""
    data: dict[str, Any] = {"enabled": str(job.enabled)}
    for name, value in values.items():
        if isinstance(value, bool):
            if value:
                data[name] = "on"
        elif value is not None:
            data[name] = value
    return data


def check_configuration(application: Application, document: Any) -> Plan:
    """Check a whole configuration file against an application: the settings with the Provisioning page's
    form (and, for a changed file recipient, the target itself), the schema as :func:`check_schema`."""
    job = application.job
    problems: list[Problem] = []
    if not isinstance(document, dict) or document.get("@odata.type") != FORMAT:
        raise ConfigurationError([Problem("@odata.type", f"This is not a provisioning configuration file (its "
                                                         f"@odata.type is not {FORMAT}).")])
    if document.get("formatVersion") != FORMAT_VERSION:
        raise ConfigurationError([Problem("formatVersion", f"Only format version {FORMAT_VERSION} can be imported.")])
    values: dict[str, Any] = {}
    settings_ = _expect(document.get("settings"), dict, problems, "settings", "settings") or {}
    for key, value in settings_.items():
        if key not in SETTING_KEYS:
            problems.append(Problem(f"settings.{key}", f"{key} is not a setting of the Provisioning page."))
        else:
            values[SETTING_KEYS[key]] = value
    for name in SETTINGS:
        if name not in values:
            problems.append(Problem(f"settings.{_camel(name)}", f"{_camel(name)} is missing."))
    schedule = _expect(document.get("schedule"), dict, problems, "schedule", "schedule") or {}
    try:
        values["interval_minutes"] = minutes_of(schedule.get("interval"))
    except ValueError as error:
        problems.append(Problem("schedule.interval", str(error)))
    reconcile = schedule.get("reconciliationInterval")
    try:
        minutes = None if reconcile is None else minutes_of(reconcile)
        if minutes is not None and minutes % 60:
            raise ValueError(f"{reconcile!r}: full cycles are scheduled in whole hours.")
        values["reconcile_every_hours"] = None if minutes is None else minutes // 60
    except ValueError as error:
        problems.append(Problem("schedule.reconciliationInterval", str(error)))
    fields = _check_settings(job, values, problems) if not problems else None
    try:
        plan = check_schema(job, document.get("schema"), prefix="schema.")
    except ConfigurationError as error:
        problems += error.errors
        raise ConfigurationError(problems) from None
    if problems:
        raise ConfigurationError(problems)
    plan.settings = fields
    return plan


def _check_settings(job: ProvisioningJob, values: dict, problems: list[Problem]) -> dict | None:
    """The settings through the Provisioning page's form (and its look-up of the recipient of files)."""
    form = ProvisioningForm(_form_data(values, job), instance=ProvisioningJob.objects.get(pk=job.pk))
    fields = None
    if form.is_valid():
        from ..views.provisioning import _transfer_admin

        transfer_to = _transfer_admin(form, job)
    if form.is_valid():
        fields = {name: form.cleaned_data[name] for name in ProvisioningForm.Meta.fields if name != "enabled"}
        fields["transfer_files_to"] = transfer_to if fields["transfer_files_to_email"] else ""
    else:
        names = {"interval_minutes": "schedule.interval", "reconcile_every_hours": "schedule.reconciliationInterval"}
        for name, messages_ in form.errors.items():
            where = names.get(name) or (f"settings.{_camel(name)}" if name != "__all__" else "settings")
            problems += [Problem(where, message) for message in messages_]
    return fields


# ---------------------------------------------------------------------------- saving
_reason: ContextVar[str] = ContextVar("configuration_change_reason", default="")


@contextmanager
def change_reason(text: str):
    """Name the configuration versions recorded while this block runs (an import, a rollback)."""
    token = _reason.set(text)
    try:
        yield
    finally:
        _reason.reset(token)


def current_reason() -> str:
    return _reason.get()


def apply(application: Application, plan: Plan, request, *, detail: str = "") -> bool:
    """Save a checked plan in one transaction, each object mapping locked first as the editor does, with the
    editor's audit events; returns whether anything changed."""
    from ..views.mappings import _record, snapshot
    from ..views.provisioning import settings_snapshot

    changed = False
    job = application.job
    with transaction.atomic():
        if plan.settings is not None:
            before = settings_snapshot(job)
            jobs.save_settings(job, plan.settings, jobs.Actor.of(request), snapshot=settings_snapshot)
            changed = settings_snapshot(job) != before
        for item in plan.mappings:
            object_mapping = ObjectMapping.objects.select_for_update().get(pk=item.object_mapping.pk)
            before = _state(object_mapping)
            audit_before = snapshot(object_mapping)
            for name, value in item.head.items():
                setattr(object_mapping, name, value)
            object_mapping.scoping_filters = item.filters
            object_mapping.save(update_fields=[*item.head, "scoping_filters"])
            _replace_attributes(object_mapping, item.attributes)
            if _state(object_mapping) != before:
                changed = True
                _record(request, application, object_mapping, audit_before, detail=detail)
    return changed


def _state(object_mapping: ObjectMapping) -> dict:
    return _object_mapping(ObjectMapping.objects.get(pk=object_mapping.pk))


def _replace_attributes(object_mapping: ObjectMapping, rows: list[dict]) -> None:
    """Make the saved attribute mappings those of ``rows``: a row of an already mapped target updates that
    mapping (which keeps its place), the others are added, the targets left out deleted."""
    saved = {m.target_attribute: m for m in object_mapping.attributes.all()}
    wanted = {row["target_attribute"] for row in rows}
    AttributeMapping.objects.filter(object_mapping=object_mapping).exclude(target_attribute__in=wanted).delete()
    for row in rows:
        mapping = saved.get(row["target_attribute"])
        if mapping is None:
            AttributeMapping.objects.create(object_mapping=object_mapping, **row)
        elif any(getattr(mapping, name) != value for name, value in row.items()):
            for name, value in row.items():
                setattr(mapping, name, value)
            mapping.save()


# ---------------------------------------------------------------------------- import, rollback
def current_digest(application: Application) -> str:
    """A fingerprint of the application's configuration now: an import reviewed against another one is stale."""
    return digest(comparable(export_configuration(application)))


@dataclass
class Imported:
    """What importing a configuration did."""

    changed: bool
    warnings: list[str] = field(default_factory=list)


def import_configuration(application: Application, document: Any, request, *, reason: str,
                         expected_digest: str | None = None) -> Imported:
    """Check a configuration file against the application and save all of it, in one transaction, or nothing
    (ConfigurationError). ``expected_digest``: the configuration the person reviewed the differences against;
    a change saved meanwhile refuses the import (StaleConfiguration)."""
    with transaction.atomic():
        Application.objects.select_for_update().filter(pk=application.pk).first()
        if expected_digest is not None and current_digest(application) != expected_digest:
            raise StaleConfiguration()
        plan = check_configuration(application, document)
        with change_reason(reason):
            changed = apply(application, plan, request, detail=reason)
    return Imported(changed, plan.warnings)


class StaleConfiguration(Exception):
    """The configuration changed after its differences with a file were shown."""

    def __str__(self) -> str:
        return ("The configuration was changed since the differences were shown: nothing was imported. Review "
                "the differences again.")
