"""Names and choices shared by models, views and the engine."""

from django.db import models

ADMINISTRATORS_GROUP = "Provisioning administrators"
READERS_GROUP = "Provisioning readers"

DEFAULT_ACCESS_ROLE_ID = "00000000-0000-0000-0000-000000000000"


class AuditActivity(models.TextChoices):
    """Activity names as Entra ID's audit log uses them, plus the portal's own."""

    ADD_APPLICATION = "Add service principal", "Add service principal"
    UPDATE_APPLICATION = "Update application", "Update application"
    DELETE_APPLICATION = "Delete application", "Delete application"
    ADD_ASSIGNMENT = "Add app role assignment to service principal", "Add app role assignment to service principal"
    REMOVE_ASSIGNMENT = (
        "Remove app role assignment from service principal",
        "Remove app role assignment from service principal",
    )
    UPDATE_SETTINGS = "Update provisioning setting or credentials", "Update provisioning setting or credentials"
    START = "Enable/start provisioning configuration", "Enable/start provisioning configuration"
    STOP = "Disable/pause provisioning configuration", "Disable/pause provisioning configuration"
    RESTART = "Enable/restart provisioning configuration", "Enable/restart provisioning configuration"
    UPDATE_MAPPINGS = "Update attribute mappings or scope", "Update attribute mappings or scope"
    ALLOW_DELETES = "Allow staged deletions", "Allow staged deletions"
    QUARANTINE = "Quarantine provisioning job", "Quarantine provisioning job"
    RELEASE_QUARANTINE = "Release provisioning job from quarantine", "Release provisioning job from quarantine"
    PROVISION_ON_DEMAND = "Provision on demand", "Provision on demand"
    UNLINK = "Remove object link", "Remove object link"
    LINK = "Add object link", "Add object link"
    SUSPEND_UNLINKED = "Suspend members linked to no user", "Suspend members linked to no user"
    INVITE_USER = "Invite portal user", "Invite portal user"
    UPDATE_USER = "Update portal user", "Update portal user"
    # A role on one application only (Entra ID's words for a role assignment with a scope)
    ADD_APPLICATION_ROLE = "Add scoped member to role", "Add scoped member to role"
    REMOVE_APPLICATION_ROLE = "Remove scoped member from role", "Remove scoped member from role"
    ADD_STREAM_DESTINATION = "Add log streaming destination", "Add log streaming destination"
    UPDATE_STREAM_DESTINATION = "Update log streaming destination", "Update log streaming destination"
    DELETE_STREAM_DESTINATION = "Delete log streaming destination", "Delete log streaming destination"
    RETRY_STREAM_ENTRY = "Retry dead-lettered log stream entry", "Retry dead-lettered log stream entry"
    DISCARD_STREAM_ENTRY = "Discard dead-lettered log stream entry", "Discard dead-lettered log stream entry"
    SIGN_IN = "Sign in", "Sign in"
    UPDATE_ROLES_FROM_ENTRA = "Update portal roles from Microsoft Entra ID", "Update portal roles from Microsoft Entra ID"
    END_SESSION = "End session", "End session"


class StreamKind(models.TextChoices):
    """Where a log streaming destination sends what is written (see provisioning.streaming)."""

    SYSLOG = "syslog", "Syslog (RFC 5424 over TCP)"
    SPLUNK_HEC = "splunk_hec", "Splunk HTTP Event Collector"
    WEBHOOK = "webhook", "HTTPS webhook (JSON lines)"
    FILE = "file", "JSON-lines file"


class AuditCategory(models.TextChoices):
    APPLICATION_MANAGEMENT = "ApplicationManagement", "Application management"
    PROVISIONING_MANAGEMENT = "ProvisioningManagement", "Provisioning management"
    USER_MANAGEMENT = "UserManagement", "User management"


class AuditResult(models.TextChoices):
    SUCCESS = "success", "Success"
    FAILURE = "failure", "Failure"


class GalleryApp(models.TextChoices):
    """Applications the gallery offers. Each has a connector and default mappings."""

    DROPBOX_BUSINESS = "dropbox-business", "Dropbox for Business"


class ProvisioningMode(models.TextChoices):
    MANUAL = "manual", "Manual"
    AUTOMATIC = "automatic", "Automatic"


class Scope(models.TextChoices):
    ASSIGNED = "assigned", "Sync only assigned users and groups"
    ALL = "all", "Sync all users and groups"


class LeaveAction(models.TextChoices):
    """What happens to a linked account when its user leaves (each cause chosen on its own)."""

    SUSPEND = "suspend", "Suspend (removed after the grace period, if one is set)"
    REMOVE = "remove", "Remove at once"
    NOTHING = "nothing", "Do nothing"


class LeaveCause(models.TextChoices):
    """Why a user leaves: the Settings choose a :class:`LeaveAction` for each."""

    UNASSIGNED = "unassigned", "is unassigned from the application"
    OUT_OF_SCOPE = "out_of_scope", "no longer matches the scoping filters"
    DISABLED = "disabled", "is disabled in Microsoft Entra ID"
    SOFT_DELETED = "soft_deleted", "is deleted in Microsoft Entra ID (recycle bin)"
    HARD_DELETED = "hard_deleted", "is permanently deleted in Microsoft Entra ID"


#: the action for each cause unless the Settings say otherwise: suspend, and remove what is gone for good
DEFAULT_LEAVE_ACTIONS = {
    LeaveCause.UNASSIGNED: LeaveAction.SUSPEND, LeaveCause.OUT_OF_SCOPE: LeaveAction.SUSPEND,
    LeaveCause.DISABLED: LeaveAction.SUSPEND, LeaveCause.SOFT_DELETED: LeaveAction.SUSPEND,
    LeaveCause.HARD_DELETED: LeaveAction.REMOVE,
}


class DiscoveryCategory(models.TextChoices):
    """What account discovery found a member of the target to be (see engine/discovery.py)."""

    LINKED = "linked", "Linked, in step"
    DRIFTED = "drifted", "Linked, drifted"
    WILL_MATCH = "will_match", "Will be matched"
    OUT_OF_SCOPE = "out_of_scope", "In Microsoft Entra ID but out of scope"
    ORPHAN = "orphan", "Orphan"
    PROTECTED = "protected", "Protected"
    CONFLICT = "conflict", "Conflict"


class JobState(models.TextChoices):
    IDLE = "idle", "Idle"
    RUNNING = "running", "Running"
    QUARANTINED = "quarantined", "Quarantined"


class CycleKind(models.TextChoices):
    INITIAL = "initial", "Initial cycle"
    INCREMENTAL = "incremental", "Incremental cycle"
    FULL = "full", "Full cycle"


class CycleStatus(models.TextChoices):
    RUNNING = "running", "In progress"
    SUCCEEDED = "succeeded", "Completed"
    COMPLETED_WITH_FAILURES = "completed_with_failures", "Completed with failures"
    STAGED = "staged", "Stopped: deletions staged"
    FAILED = "failed", "Failed"
    STOPPED = "stopped", "Stopped"
    INTERRUPTED = "interrupted", "Interrupted"


class ObjectType(models.TextChoices):
    USER = "user", "User"
    GROUP = "group", "Group"


class Action(models.TextChoices):
    """Provisioning actions, as in Entra's provisioning logs."""

    CREATE = "Create", "Create"
    UPDATE = "Update", "Update"
    DISABLE = "Disable", "Disable"
    ENABLE = "Enable", "Enable"
    DELETE = "Delete", "Delete"
    STAGED_DELETE = "StagedDelete", "StagedDelete"
    STAGED_DISABLE = "StagedDisable", "StagedDisable"
    SKIP = "Skip", "Skip"
    OTHER = "Other", "Other"


class LogStatus(models.TextChoices):
    SUCCESS = "Success", "Success"
    FAILURE = "Failure", "Failure"
    SKIPPED = "Skipped", "Skipped"
    WARNING = "Warning", "Warning"


class LinkState(models.TextChoices):
    ACTIVE = "active", "Active"
    DISABLED = "disabled", "Disabled"
    INVITED = "invited", "Invited"


class MappingType(models.TextChoices):
    DIRECT = "Direct", "Direct"
    CONSTANT = "Constant", "Constant"
    EXPRESSION = "Expression", "Expression"
    NONE = "None", "None"


class ApplyWhen(models.TextChoices):
    ALWAYS = "always", "Always"
    CREATE_ONLY = "create", "Only during object creation"
