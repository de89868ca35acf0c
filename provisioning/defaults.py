"""Default attribute mappings of the Dropbox for Business gallery application,
as Entra ID ships them, and the target schema they write to."""

from __future__ import annotations

import uuid

from django.db import transaction

from .constants import ApplyWhen, MappingType, ObjectType

#: Target attributes of Dropbox members and groups. ``required`` ones cannot be
#: removed from the mappings; ``max_length`` mirrors Dropbox's own validation.
TARGET_SCHEMA = {
    ObjectType.USER: {
        "email": {"required": True, "max_length": 255, "description": "The member's email (also the sign-in name)."},
        "givenName": {"required": False, "max_length": 50, "description": "First name."},
        "surname": {"required": False, "max_length": 50, "description": "Last name."},
        "externalId": {"required": False, "max_length": 64, "description": "An ID Dropbox keeps for the portal."},
        "active": {"required": True, "max_length": None,
                   "description": "\"True\" keeps the member active, \"False\" suspends it."},
    },
    ObjectType.GROUP: {
        "groupName": {"required": True, "max_length": 255, "description": "The Dropbox group's name."},
        "externalId": {"required": False, "max_length": 64, "description": "An ID Dropbox keeps for the portal."},
        "members": {"required": False, "max_length": None, "description": "The group's members (provisioned users)."},
    },
}

#: Source attributes offered by the mapping editor (Entra ID user and group properties).
SOURCE_ATTRIBUTES = {
    ObjectType.USER: [
        "accountEnabled", "city", "companyName", "country", "department", "displayName", "employeeId",
        "givenName", "IsSoftDeleted", "jobTitle", "mail", "mailNickname", "mobilePhone", "objectId",
        "officeLocation", "postalCode", "preferredLanguage", "state", "streetAddress", "surname",
        "usageLocation", "userPrincipalName", "userType",
    ],
    ObjectType.GROUP: ["description", "displayName", "mail", "mailNickname", "members", "objectId"],
}

DEFAULT_MAPPINGS = {
    ObjectType.USER: [
        {"target_attribute": "email", "mapping_type": MappingType.DIRECT, "source_attribute": "userPrincipalName",
         "is_matching": True, "matching_precedence": 1},
        {"target_attribute": "givenName", "mapping_type": MappingType.DIRECT, "source_attribute": "givenName"},
        {"target_attribute": "surname", "mapping_type": MappingType.DIRECT, "source_attribute": "surname"},
        {"target_attribute": "externalId", "mapping_type": MappingType.DIRECT, "source_attribute": "objectId"},
        {"target_attribute": "active", "mapping_type": MappingType.EXPRESSION,
         "expression": 'Switch([IsSoftDeleted], , "False", "True", "True", "False")'},
    ],
    ObjectType.GROUP: [
        {"target_attribute": "groupName", "mapping_type": MappingType.DIRECT, "source_attribute": "displayName",
         "is_matching": True, "matching_precedence": 1},
        {"target_attribute": "externalId", "mapping_type": MappingType.DIRECT, "source_attribute": "objectId"},
        {"target_attribute": "members", "mapping_type": MappingType.DIRECT, "source_attribute": "members"},
    ],
}


def restore_default_mappings(object_mapping) -> None:
    """Replace an object mapping's attribute mappings with the defaults."""
    from .models import AttributeMapping

    with transaction.atomic():
        object_mapping.attributes.all().delete()
        AttributeMapping.objects.bulk_create(
            AttributeMapping(object_mapping=object_mapping, apply_when=ApplyWhen.ALWAYS, **spec)
            for spec in DEFAULT_MAPPINGS[object_mapping.object_type]
        )


def create_job(application, tenant_id: str = ""):
    """The provisioning job of a new application, with the default mappings."""
    from .models import ObjectMapping, ProvisioningJob

    with transaction.atomic():
        job = ProvisioningJob.objects.create(
            application=application,
            job_id=f"dropboxSCIMOutDelta.{uuid.uuid4().hex}.{tenant_id or 'tenant'}",
        )
        for object_type in (ObjectType.USER, ObjectType.GROUP):
            restore_default_mappings(ObjectMapping.objects.create(job=job, object_type=object_type))
    return job
