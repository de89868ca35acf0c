"""Forms of the Attribute Mappings page, the mapping editor and the scoping
filter editor. They refuse what the engine could not run (an expression that
does not parse, a clause whose pattern does not compile, a required target left
unmapped) with the reason next to the field, and warn, without refusing, about
what may well be right (an attribute name that is not one of Entra ID's own,
such as a directory extension attribute)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django import forms
from django.http import QueryDict

from provisioning.constants import ApplyWhen, MappingType, ObjectType
from provisioning.defaults import SOURCE_ATTRIBUTES, schema_table
from provisioning.expressions import ExpressionError, parse, referenced_attributes
from provisioning.expressions.scoping import OPERATORS, UNARY, ScopingError, validate_clause
from provisioning.models import AttributeMapping, ObjectMapping
from provisioning.numbers import is_whole_number

#: Entra ID attribute names, directory extension attributes included
#: (``extension_<appId>_costCenter``): a letter, then letters, digits, ``_``, ``.`` or ``-``.
ATTRIBUTE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.\-]{0,99}\Z")
ATTRIBUTE_NAME_HELP = ("Letters, digits, _ . - only, starting with a letter "
                       "(for example department or extension_…_costCenter).")

#: Keeps a hand-edited or replayed form from growing without bound.
MAX_SCOPING_CLAUSES = 100


def attribute_warnings(names, object_type: str) -> list[str]:
    """Why each name that is not one of Entra ID's standard attributes may read as null.

    A warning, not an error: directory extension attributes have names of the
    tenant's own. Names are case-sensitive, so a near miss is pointed out.
    """
    known = SOURCE_ATTRIBUTES[object_type]
    noun = "users" if object_type == ObjectType.USER else "groups"
    warnings = []
    for name in sorted(set(names)):
        if name in known:
            continue
        near = next((k for k in known if k.lower() == name.lower()), None)
        if near:
            warnings.append(f'"{name}" is not an attribute of Entra ID {noun}: attribute names are case-sensitive, '
                            f'did you mean "{near}"? As written it reads as null.')
        else:
            warnings.append(f'"{name}" is not one of the standard attributes of Entra ID {noun}. That is right for a '
                            f"directory extension attribute; otherwise check the spelling, or it reads as null.")
    return warnings


class MappingFormMixin:
    """Labels without a trailing colon, as in the Entra admin center."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class ObjectMappingForm(MappingFormMixin, forms.ModelForm):
    """The head of the Attribute Mappings page: Enabled and the Target Object Actions."""

    enabled = forms.TypedChoiceField(
        label="Enabled", choices=[("True", "Yes"), ("False", "No")], coerce=lambda value: value == "True",
        widget=forms.RadioSelect,
    )

    class Meta:
        model = ObjectMapping
        fields = ["enabled", "allow_create", "allow_update", "allow_delete"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.initial["enabled"] = str(bool(self.instance.enabled))
        if self.instance.object_type == ObjectType.USER:
            # Users are what the application provisions: without them nothing flows.
            self.fields["enabled"].disabled = True
            self.fields["enabled"].help_text = ("The users mapping is always enabled: it is what provisions "
                                                "Dropbox members.")
        else:
            self.fields["enabled"].help_text = ("No stops provisioning groups: Dropbox groups the portal created are "
                                                "left as they are.")


class AttributeMappingForm(MappingFormMixin, forms.ModelForm):
    """One attribute mapping, checked against the other mappings of its object type."""

    mapping_type = forms.ChoiceField(label="Mapping type", choices=MappingType.choices)
    source_attribute = forms.CharField(
        label="Source attribute", required=False, max_length=100,
        widget=forms.TextInput(attrs={"list": "source-attributes", "autocomplete": "off", "spellcheck": "false"}),
        help_text="Choose an Entra ID attribute, or type the name of a directory extension attribute.",
    )
    constant_value = forms.CharField(label="Constant value", required=False, widget=forms.TextInput)
    expression = forms.CharField(
        label="Expression", required=False,
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false", "class": "mono"}),
    )
    default_value = forms.CharField(
        label="Default value if null (optional)", required=False, widget=forms.TextInput,
        help_text="Sent when the source gives null or an empty value, and only when the object is created.",
    )
    target_attribute = forms.ChoiceField(label="Target attribute")
    is_matching = forms.BooleanField(label="Match objects using this attribute", required=False)
    matching_precedence = forms.IntegerField(
        label="Matching precedence", required=False, min_value=1, max_value=99,
        help_text="When several attributes match objects, the lowest number is tried first.",
    )
    apply_when = forms.ChoiceField(label="Apply this mapping", choices=ApplyWhen.choices)

    class Meta:
        model = AttributeMapping
        fields = ["mapping_type", "source_attribute", "constant_value", "expression", "default_value",
                  "target_attribute", "is_matching", "matching_precedence", "apply_when"]

    def __init__(self, *args, object_mapping: ObjectMapping, others: list[AttributeMapping] | None = None, **kwargs):
        """``others``: the mappings this one is checked against (default: the saved ones, this one excepted);
        a whole set checked at once (the API's schema, an imported configuration) passes the rest of the set."""
        super().__init__(*args, **kwargs)
        self.object_mapping = object_mapping
        self.instance.object_mapping = object_mapping
        self.schema = schema_table(object_mapping)
        self.others = others if others is not None else [m for m in object_mapping.attributes.all()
                                                         if m.pk != self.instance.pk]
        self.original_target = self.instance.target_attribute if self.instance.pk else None
        self.warnings: list[str] = []
        #: The ExpressionError of a refused expression, and the text it points into, so the page can mark the character.
        self.expression_error: ExpressionError | None = None
        self.expression_text = ""

        # Mapped targets stay in the list, marked, so choosing one is refused with the reason rather than vanishing.
        taken = {m.target_attribute for m in self.others}
        choices = [(name, name + (" (required)" if spec["required"] else "") + (" (already mapped)" if name in taken
                                                                                else ""))
                   for name, spec in self.schema.items()]
        if self.original_target and self.original_target not in self.schema:
            choices.append((self.original_target, self.original_target))
        self.fields["target_attribute"].choices = choices
        if not self.instance.pk and not self.is_bound:
            self.initial["matching_precedence"] = self.next_precedence()

    @property
    def required_target(self) -> bool:
        """Whether the mapping edited is one Dropbox requires (it cannot be removed or moved)."""
        return bool(self.original_target and self.schema.get(self.original_target, {}).get("required"))

    @property
    def free_targets(self) -> list[str]:
        """Target attributes no other mapping writes."""
        taken = {m.target_attribute for m in self.others}
        return [name for name in self.schema if name not in taken]

    def next_precedence(self) -> int:
        used = [m.matching_precedence or 0 for m in self.others if m.is_matching]
        return max(used, default=0) + 1

    def clean_source_attribute(self):
        return self.cleaned_data["source_attribute"].strip()

    def clean_expression(self):
        return self.cleaned_data["expression"].strip()

    def clean(self):
        data = super().clean()
        kind = data.get("mapping_type")
        target = data.get("target_attribute")
        spec = self.schema.get(target, {}) if target else {}

        if kind == MappingType.DIRECT:
            self._clean_direct(data)
        elif kind == MappingType.CONSTANT:
            self._clean_constant(data, target, spec)
        elif kind == MappingType.EXPRESSION:
            self._clean_expression(data)

        # Keep only what the chosen mapping type reads, so the table shows what flows.
        if kind != MappingType.DIRECT:
            data["source_attribute"] = ""
        if kind != MappingType.CONSTANT:
            data["constant_value"] = ""
        if kind != MappingType.EXPRESSION:
            data["expression"] = ""
        if kind in (MappingType.CONSTANT, MappingType.NONE):
            data["default_value"] = ""
        default = data.get("default_value") or ""
        if default and spec.get("max_length") and len(default) > spec["max_length"]:
            self.add_error("default_value", f"{target} takes at most {spec['max_length']} characters; "
                                            f"this default has {len(default)}.")

        self._clean_target(data, kind, target, spec)
        self._clean_matching(data, kind)
        return data

    def _clean_direct(self, data):
        source = data.get("source_attribute", "")
        if not source:
            self.add_error("source_attribute", "Choose the source attribute whose value flows to the target.")
        elif not ATTRIBUTE_NAME.match(source):
            self.add_error("source_attribute", f'"{source}" is not an attribute name. {ATTRIBUTE_NAME_HELP}')
        else:
            self.warnings += attribute_warnings([source], self.object_mapping.object_type)

    def _clean_constant(self, data, target, spec):
        value = data.get("constant_value", "")
        if value == "":
            self.add_error("constant_value", "Enter the value every object receives.")
        elif spec.get("max_length") and len(value) > spec["max_length"]:
            self.add_error("constant_value", f"{target} takes at most {spec['max_length']} characters; "
                                             f"this value has {len(value)}.")
        elif target == "active" and value.strip().lower() not in ("true", "false"):
            self.add_error("constant_value", 'active takes "True" (keep the member active) or "False" (suspend it).')

    def _clean_expression(self, data):
        text = data.get("expression", "")
        try:
            tree = parse(text)
        except ExpressionError as error:
            self.expression_error, self.expression_text = error, text
            self.add_error("expression", str(error))
            return
        self.warnings += attribute_warnings(referenced_attributes(tree), self.object_mapping.object_type)

    def _clean_target(self, data, kind, target, spec):
        if not target:
            return
        if self.required_target and target != self.original_target:
            self.add_error("target_attribute", f"{self.original_target} is required by Dropbox for Business: its "
                                               f"mapping can be changed, but not moved to another attribute.")
        elif any(m.target_attribute == target for m in self.others):
            self.add_error("target_attribute", f"{target} is already mapped: a target attribute takes one mapping. "
                                               f"Edit that mapping instead.")
        if spec.get("required") and kind == MappingType.NONE:
            self.add_error("mapping_type", f"{target} is required by Dropbox for Business: it needs a value, so its "
                                           f"mapping type cannot be None.")

    def _clean_matching(self, data, kind):
        if not data.get("is_matching"):
            data["matching_precedence"] = None
            if not any(m.is_matching for m in self.others):
                self.add_error("is_matching", "At least one mapping must match objects: keep this one, or first make "
                                              "another mapping a matching one.")
            return
        if kind in (MappingType.CONSTANT, MappingType.NONE):
            self.add_error("is_matching", "Only a Direct or Expression mapping can match objects: a constant, or no "
                                          "value, is the same for every object.")
            return
        precedence = data.get("matching_precedence")
        if precedence is None:
            if "matching_precedence" in self.errors:
                return
            data["matching_precedence"] = precedence = self.next_precedence()
        clash = next((m for m in self.others if m.is_matching and m.matching_precedence == precedence), None)
        if clash is not None:
            self.add_error("matching_precedence", f"Precedence {precedence} is already used by the "
                                                  f"{clash.target_attribute} mapping: each matching attribute needs a "
                                                  f"precedence of its own.")


def delete_refusal(mapping: AttributeMapping) -> str:
    """Why a mapping cannot be deleted, or "" if it can."""
    schema = schema_table(mapping.object_mapping)
    if schema.get(mapping.target_attribute, {}).get("required"):
        return f"{mapping.target_attribute} is required by Dropbox for Business, so its mapping cannot be deleted."
    if mapping.is_matching and not mapping.object_mapping.attributes.exclude(pk=mapping.pk).filter(
        is_matching=True
    ).exists():
        return "This is the only mapping that matches objects: make another mapping a matching one first."
    return ""


@dataclass
class SetError:
    """A refusal of one attribute mapping of a whole set: its position, the field at fault and why."""

    index: int | None
    field: str
    message: str


def validate_mapping_set(object_mapping: ObjectMapping, rows: list[dict]) -> tuple[list[dict], list[SetError]]:
    """Check a whole set of attribute mappings (each a dict of AttributeMappingForm's fields) as the editor
    checks each one saved: every mapping against the rest of the set, then the set against the target's
    required attributes (which the editor refuses to delete). Returns the cleaned rows and the refusals."""
    errors: list[SetError] = []
    unsaved = [AttributeMapping(object_mapping=object_mapping, target_attribute=row.get("target_attribute") or "",
                                mapping_type=row.get("mapping_type") or "", is_matching=bool(row.get("is_matching")),
                                matching_precedence=row.get("matching_precedence")) for row in rows]
    cleaned = []
    for index, row in enumerate(rows):
        data = {name: row.get(name) for name in AttributeMappingForm.Meta.fields}
        data = {name: ("on" if value else "") if name == "is_matching" else ("" if value is None else value)
                for name, value in data.items()}
        # The saved mapping of the same target is the one this row replaces (not a duplicate of it).
        saved = object_mapping.attributes.filter(target_attribute=data["target_attribute"]).first()
        form = AttributeMappingForm(data, instance=saved, object_mapping=object_mapping,
                                    others=unsaved[:index] + unsaved[index + 1:])
        if form.is_valid():
            cleaned.append({name: form.cleaned_data[name] for name in AttributeMappingForm.Meta.fields})
            continue
        for name, messages_ in form.errors.items():
            errors += [SetError(index, name, message) for message in messages_]
    mapped = {row.get("target_attribute"): row for row in rows}
    for name, spec in schema_table(object_mapping).items():
        if spec["required"] and name not in mapped:
            errors.append(SetError(None, "target_attribute", f"{name} is required by Dropbox for Business, so its "
                                                             f"mapping cannot be deleted."))
    return cleaned, errors


# ---------------------------------------------------------------- scoping filters


@dataclass
class Clause:
    """One row of the scoping filter editor."""

    key: int
    attribute: str = ""
    operator: str = "EQUALS"
    value: str = ""
    error: str = ""
    warnings: list[str] = field(default_factory=list)

    @property
    def unary(self) -> bool:
        return self.operator in UNARY

    @property
    def blank(self) -> bool:
        return not self.attribute.strip() and not self.value.strip()


@dataclass
class Filter:
    """A scoping filter: its clauses all hold (AND)."""

    key: int
    clauses: list[Clause] = field(default_factory=list)
    #: the Scoping Filter Title (optional)
    title: str = ""
    error: str = ""


#: the longest Scoping Filter Title
MAX_FILTER_TITLE = 120


class ScopingFiltersForm:
    """The scoping filters of one object mapping, as rows an administrator edits.

    Each clause row posts ``clause-<n>-filter`` (the key of its filter),
    ``-attribute``, ``-operator`` and ``-value``; ``n`` only needs to be
    unique, so the page's script can add rows without renumbering, and rows
    added without the script come from the ``action`` button that was pressed
    (``add_filter``, ``add_clause:<filter>``, ``remove_clause:<n>``,
    ``remove_filter:<filter>``).
    """

    operators = OPERATORS

    def __init__(self, object_type: str, filters: list[Filter]):
        self.object_type = object_type
        self.filters = filters
        self.errors: list[str] = []

    @classmethod
    def from_saved(cls, object_type: str, saved: list) -> "ScopingFiltersForm":
        filters, key = [], 0
        for group in saved or []:
            clauses = []
            for clause in group.get("clauses", []):
                key += 1
                clauses.append(Clause(key=key, attribute=clause.get("attribute", ""),
                                      operator=clause.get("operator", "EQUALS"), value=clause.get("value") or ""))
            if clauses:
                filters.append(Filter(key=len(filters) + 1, clauses=clauses, title=group.get("title") or ""))
        return cls(object_type, filters)

    @classmethod
    def from_post(cls, object_type: str, data: QueryDict) -> "ScopingFiltersForm":
        rows = []
        for name in data:
            found = re.fullmatch(r"clause-(\d{1,6})-filter", name)
            if found:
                rows.append(int(found.group(1)))
        by_filter: dict[int, Filter] = {}
        for key in sorted(rows)[: MAX_SCOPING_CLAUSES + 1]:
            try:
                filter_key = int(data.get(f"clause-{key}-filter", ""))
            except ValueError:
                continue
            clause = Clause(
                key=key,
                attribute=data.get(f"clause-{key}-attribute", "").strip(),
                operator=data.get(f"clause-{key}-operator", "").strip(),
                value=data.get(f"clause-{key}-value", ""),
            )
            by_filter.setdefault(filter_key, Filter(key=filter_key)).clauses.append(clause)
        for filter_key, group in by_filter.items():
            group.title = data.get(f"filter-{filter_key}-title", "").strip()
        form = cls(object_type, [by_filter[k] for k in sorted(by_filter)])
        if len(rows) > MAX_SCOPING_CLAUSES:
            form.errors.append(f"A mapping takes at most {MAX_SCOPING_CLAUSES} scoping clauses.")
        return form

    # -- editing without the page's script

    def _next_clause_key(self) -> int:
        return max((c.key for f in self.filters for c in f.clauses), default=0) + 1

    def apply(self, action: str) -> bool:
        """Carry out an add or remove button; False if ``action`` is not one."""
        name, _, argument = action.partition(":")
        if name == "add_filter":
            key = max((f.key for f in self.filters), default=0) + 1
            self.filters.append(Filter(key=key, clauses=[Clause(key=self._next_clause_key())]))
            return True
        if not is_whole_number(argument):
            return False
        number = int(argument)
        if name == "add_clause":
            group = next((f for f in self.filters if f.key == number), None)
            if group is not None:
                group.clauses.append(Clause(key=self._next_clause_key()))
            return True
        if name == "remove_filter":
            self.filters = [f for f in self.filters if f.key != number]
            return True
        if name == "remove_clause":
            for group in self.filters:
                group.clauses = [c for c in group.clauses if c.key != number]
            self.filters = [f for f in self.filters if f.clauses]
            return True
        return False

    # -- validation

    def is_valid(self) -> bool:
        valid = not self.errors
        for group in self.filters:
            group.clauses = [c for c in group.clauses if not c.blank]
        self.filters = [f for f in self.filters if f.clauses]
        for group in self.filters:
            group.error = f"A title takes at most {MAX_FILTER_TITLE} characters." \
                if len(group.title) > MAX_FILTER_TITLE else ""
            valid = valid and not group.error
            for clause in group.clauses:
                clause.error = self._clause_error(clause)
                valid = valid and not clause.error
        return valid

    def _clause_error(self, clause: Clause) -> str:
        if not clause.attribute:
            return "Enter the attribute this clause tests."
        if not ATTRIBUTE_NAME.match(clause.attribute):
            return f'"{clause.attribute}" is not an attribute name. {ATTRIBUTE_NAME_HELP}'
        clause.warnings = attribute_warnings([clause.attribute], self.object_type)
        try:
            clause.operator = validate_clause(clause.operator, clause.value)
        except ScopingError as error:
            return error.message[:1].upper() + error.message[1:] + "."
        if clause.unary:
            clause.value = ""  # the value box is hidden for these operators: whatever it held is not kept
        return ""

    @property
    def warnings(self) -> list[str]:
        return [w for f in self.filters for c in f.clauses for w in c.warnings]

    def cleaned(self) -> list[dict]:
        """The filters in the engine's format: ``[{"title"?, "clauses": [{"attribute", "operator", "value"}]}]``."""
        return [
            {**({"title": f.title} if f.title else {}),
             "clauses": [{"attribute": c.attribute, "operator": c.operator, "value": c.value} for c in f.clauses]}
            for f in self.filters
        ]
