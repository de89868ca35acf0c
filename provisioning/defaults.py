"""A new application's provisioning job with the default attribute mappings of
its gallery entry (each target package ships them), and the source attributes
the mapping editor offers."""

from __future__ import annotations

import uuid

from django.db import transaction

from .constants import ApplyWhen, ObjectType
from .targets import package_for, package_of
from .targets.base import ObjectSchema

#: Source attributes offered by the mapping editor (Entra ID user and group properties).
SOURCE_ATTRIBUTES = {
    ObjectType.USER: [
        "accountEnabled", "appRoleAssignments", "city", "companyName", "country", "department", "displayName", "employeeId",
        "givenName", "IsSoftDeleted", "jobTitle", "mail", "mailNickname", "mobilePhone", "objectId",
        "officeLocation", "postalCode", "preferredLanguage", "state", "streetAddress", "surname",
        "usageLocation", "userPrincipalName", "userType",
    ],
    ObjectType.GROUP: ["description", "displayName", "mail", "mailNickname", "members", "objectId"],
}


def target_schema(object_mapping) -> ObjectSchema:
    """The target's attributes for an object mapping (what the mapping editor offers and requires)."""
    return package_of(object_mapping.job).schema.for_type(object_mapping.object_type)


def schema_table(object_mapping) -> dict[str, dict]:
    """The target's attributes as the mapping editor lists them: {name: {required, max_length, description}}."""
    return {spec.name: {"required": spec.required, "max_length": spec.max_length, "description": spec.description}
            for spec in target_schema(object_mapping).attributes}


def restore_default_mappings(object_mapping) -> None:
    """Replace an object mapping's attribute mappings with the defaults."""
    from .models import AttributeMapping

    defaults = package_of(object_mapping.job).default_mappings[object_mapping.object_type]
    with transaction.atomic():
        object_mapping.attributes.all().delete()
        AttributeMapping.objects.bulk_create(
            AttributeMapping(object_mapping=object_mapping, apply_when=ApplyWhen.ALWAYS, **spec) for spec in defaults
        )


def create_job(application, tenant_id: str = ""):
    """The provisioning job of a new application, with the default mappings."""
    from .models import ObjectMapping, ProvisioningJob

    with transaction.atomic():
        job = ProvisioningJob.objects.create(
            application=application,
            job_id=f"{package_for(application.gallery_app).job_template}.{uuid.uuid4().hex}.{tenant_id or 'tenant'}",
        )
        for object_type in (ObjectType.USER, ObjectType.GROUP):
            restore_default_mappings(ObjectMapping.objects.create(job=job, object_type=object_type))
    return job
