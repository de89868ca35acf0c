"""Helpers of the mapping editor tests: the application's two object mappings,
and posting a mapping form the way the page does."""

from __future__ import annotations

import pytest
from django.urls import reverse

from provisioning.constants import ApplyWhen, MappingType, ObjectType
from provisioning.models import AttributeMapping, ObjectMapping


@pytest.fixture
def users_mapping(application) -> ObjectMapping:
    return ObjectMapping.objects.get(job__application=application, object_type=ObjectType.USER)


@pytest.fixture
def groups_mapping(application) -> ObjectMapping:
    return ObjectMapping.objects.get(job__application=application, object_type=ObjectType.GROUP)


def attribute(object_mapping: ObjectMapping, target: str) -> AttributeMapping:
    return object_mapping.attributes.get(target_attribute=target)


def mapping_fields(mapping: AttributeMapping | None = None, **changes) -> dict:
    """The fields of the Edit Attribute form as the page posts them, with changes."""
    fields = {
        "mapping_type": MappingType.DIRECT, "source_attribute": "", "constant_value": "", "expression": "",
        "default_value": "", "target_attribute": "", "matching_precedence": "", "apply_when": ApplyWhen.ALWAYS,
    }
    if mapping is not None:
        fields.update(
            mapping_type=mapping.mapping_type, source_attribute=mapping.source_attribute,
            constant_value=mapping.constant_value, expression=mapping.expression,
            default_value=mapping.default_value, target_attribute=mapping.target_attribute,
            matching_precedence=mapping.matching_precedence or "", apply_when=mapping.apply_when,
        )
        if mapping.is_matching:
            fields["is_matching"] = "on"
    fields.update(changes)
    if fields.get("is_matching") is False:
        fields.pop("is_matching")
    return fields


def edit_url(mapping: AttributeMapping) -> str:
    om = mapping.object_mapping
    return reverse("portal:edit_attribute_mapping", args=[om.job.application_id, om.object_type, mapping.pk])


def add_url(object_mapping: ObjectMapping) -> str:
    return reverse("portal:add_attribute_mapping", args=[object_mapping.job.application_id, object_mapping.object_type])


def page_url(object_mapping: ObjectMapping) -> str:
    return reverse("portal:attribute_mappings", args=[object_mapping.job.application_id, object_mapping.object_type])


def scoping_url(object_mapping: ObjectMapping) -> str:
    return reverse("portal:scoping_filters", args=[object_mapping.job.application_id, object_mapping.object_type])


def text(response) -> str:
    return response.content.decode()
