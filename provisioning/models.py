"""The provisioning domain: applications and their provisioning jobs, attribute
mappings, links between source and target objects, cycles, provisioning logs,
the audit trail and service heartbeats."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from .constants import (
    Action,
    ApplyWhen,
    AuditActivity,
    AuditCategory,
    AuditResult,
    CycleKind,
    CycleStatus,
    DiscoveryCategory,
    GalleryApp,
    JobState,
    LeaveAction,
    LinkState,
    LogStatus,
    MappingType,
    ObjectType,
    ProvisioningMode,
    Scope,
)
from .fields import EncryptedTextField


class Application(models.Model):
    """An enterprise application added from the gallery: one Dropbox team kept in
    step with the tenant through the service principal of the gallery app."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    display_name = models.CharField(max_length=120)
    gallery_app = models.CharField(max_length=40, choices=GalleryApp.choices, default=GalleryApp.DROPBOX_BUSINESS)
    #: The multi-tenant application's appId and the service principal's object id in the tenant.
    app_id = models.CharField(max_length=64, blank=True)
    service_principal_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    #: deleted by an administrator: provisioning is off and its credentials gone; its provisioning logs stay
    #: readable until the retention period ends, when everything of it is purged
    deleted_at = models.DateTimeField(null=True, blank=True)
    deleted_by = models.CharField(max_length=254, blank=True)

    class Meta:
        ordering = ["display_name", "created_at"]

    def __str__(self) -> str:
        return self.display_name


class AuditEvent(models.Model):
    """Who changed what in the portal, when and from where. Written only through
    :func:`provisioning.audit.record`, which redacts secrets; never edited."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    #: Kept as text so the trail survives the actor's account being deleted.
    actor_display = models.CharField(max_length=254, blank=True)
    activity = models.CharField(max_length=80, choices=AuditActivity.choices, db_index=True)
    category = models.CharField(max_length=40, choices=AuditCategory.choices)
    result = models.CharField(max_length=10, choices=AuditResult.choices, default=AuditResult.SUCCESS)
    application = models.ForeignKey(
        Application, null=True, blank=True, on_delete=models.SET_NULL, related_name="audit_events"
    )
    target_type = models.CharField(max_length=60, blank=True)
    target_id = models.CharField(max_length=120, blank=True)
    target_display = models.CharField(max_length=300, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    detail = models.TextField(blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["application", "-created_at"], name="audit_app_time"),
            models.Index(fields=["actor", "-created_at"], name="audit_actor_time"),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_display or 'System'}: {self.activity}"

    def changes(self) -> list[tuple[str, object, object]]:
        """(name, before, after) for every top-level key that differs."""
        before, after = self.before or {}, self.after or {}
        if not isinstance(before, dict) or not isinstance(after, dict):
            return [("value", before, after)]
        keys = list(dict.fromkeys([*before.keys(), *after.keys()]))
        return [(key, before.get(key), after.get(key)) for key in keys if before.get(key) != after.get(key)]


class ServiceHeartbeat(models.Model):
    """The last time a background service proved it was alive (the Celery worker
    records one each time it runs the periodic heartbeat task)."""

    name = models.CharField(max_length=40, unique=True)
    last_seen = models.DateTimeField()
    hostname = models.CharField(max_length=255, blank=True)

    def __str__(self) -> str:
        return f"{self.name} @ {self.last_seen:%H:%M:%S}"


class ProvisioningJob(models.Model):
    """An application's provisioning configuration and the state of its sync job
    (what Entra calls the synchronization job): settings, Dropbox credentials,
    delta links, quarantine and the lease that keeps it to one run at a time."""

    application = models.OneToOneField(Application, on_delete=models.CASCADE, related_name="job")
    job_id = models.CharField(max_length=120, unique=True)

    # ---- Settings (the Provisioning page)
    mode = models.CharField(max_length=10, choices=ProvisioningMode.choices, default=ProvisioningMode.MANUAL)
    enabled = models.BooleanField("Provisioning Status", default=False)
    scope = models.CharField(max_length=10, choices=Scope.choices, default=Scope.ASSIGNED)
    interval_minutes = models.PositiveIntegerField(default=40)
    #: hours between full cycles (reconciliation: drift made by hand in the target is corrected, members
    #: linked to no user are counted); None switches it off
    reconcile_every_hours = models.PositiveIntegerField(null=True, blank=True, default=24)
    last_full_cycle_at = models.DateTimeField(null=True, blank=True)
    prevent_accidental_deletion = models.BooleanField(default=True)
    deletion_threshold = models.PositiveIntegerField(default=500)
    wipe_devices_on_disable = models.BooleanField(default=False)
    #: Days a disabled member stays suspended before being removed; 0 removes at once; None never removes.
    delete_after_days = models.PositiveIntegerField(null=True, blank=True, default=30)
    #: Target account id of the admin who receives the files of removed members (blank: files are deleted).
    transfer_files_to = models.CharField(max_length=120, blank=True)
    transfer_files_to_email = models.EmailField(blank=True)
    remove_invited_members = models.BooleanField(default=False)
    #: what leaving means, per cause (a LeaveAction each)
    on_unassigned = models.CharField(max_length=10, choices=LeaveAction.choices, default=LeaveAction.SUSPEND)
    on_out_of_scope = models.CharField(max_length=10, choices=LeaveAction.choices, default=LeaveAction.SUSPEND)
    on_disabled = models.CharField(max_length=10, choices=LeaveAction.choices, default=LeaveAction.SUSPEND)
    on_soft_deleted = models.CharField(max_length=10, choices=LeaveAction.choices, default=LeaveAction.SUSPEND)
    on_hard_deleted = models.CharField(max_length=10, choices=LeaveAction.choices, default=LeaveAction.REMOVE)
    #: how a member is removed: kept as a basic account (off the team) rather than deleted; devices wiped
    keep_account_on_remove = models.BooleanField(default=False)
    wipe_devices_on_remove = models.BooleanField(default=False)
    #: whether Dropbox sends its welcome email to the members the portal adds
    send_welcome_email = models.BooleanField(default=True)
    expand_nested_groups = models.BooleanField(default=False)
    notification_email = models.EmailField(blank=True)
    notify_on_failure = models.BooleanField(default=False)
    # ---- Alerts (provisioning.alerts): each off when empty; mailed to the notification email and
    # posted to the alert webhook, at most once per reason per alert_repeat_hours, with a resolved message
    alert_no_success_hours = models.PositiveIntegerField(null=True, blank=True, default=24)
    alert_deprovisions_above = models.PositiveIntegerField(null=True, blank=True, default=None)
    alert_failure_percent = models.PositiveSmallIntegerField(null=True, blank=True, default=10)
    alert_escrow_cycles = models.PositiveSmallIntegerField(null=True, blank=True, default=3)
    alert_credentials = models.BooleanField(default=True)
    alert_webhook_url = models.URLField(blank=True, max_length=500)
    alert_repeat_hours = models.PositiveSmallIntegerField(default=24)

    # ---- Admin Credentials: the target's authorization and whom it belongs to
    target_refresh_token = EncryptedTextField()
    target_team_id = models.CharField(max_length=120, blank=True)
    target_team_name = models.CharField(max_length=200, blank=True)
    target_admin_email = models.EmailField(blank=True)
    #: the target account of the admin who authorized the portal: never written to
    target_admin_id = models.CharField(max_length=120, blank=True)
    authorized_at = models.DateTimeField(null=True, blank=True)
    authorized_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                      related_name="+")
    connection_checked_at = models.DateTimeField(null=True, blank=True)
    connection_ok = models.BooleanField(null=True)
    connection_message = models.TextField(blank=True)

    # ---- Run state
    state = models.CharField(max_length=12, choices=JobState.choices, default=JobState.IDLE)
    lease_owner = models.CharField(max_length=200, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    next_run_at = models.DateTimeField(null=True, blank=True, db_index=True)
    stop_requested = models.BooleanField(default=False)
    full_cycle_requested = models.BooleanField(default=False)
    allow_deletes_once = models.BooleanField(default=False)
    #: how many suspensions and removals an administrator allowed with "Allow deletes"
    allowed_deletes = models.PositiveIntegerField(null=True, blank=True)
    #: bumped by Restart and Allow deletes, so a cycle that was running does not undo them
    generation = models.PositiveIntegerField(default=0)
    user_delta_link = models.TextField(blank=True)
    group_delta_link = models.TextField(blank=True)
    #: Hash of mappings, scoping filters and scope: a change forces a full re-evaluation.
    config_fingerprint = models.CharField(max_length=64, blank=True)
    quarantine_reason = models.TextField(blank=True)
    quarantine_code = models.CharField(max_length=60, blank=True)
    quarantined_at = models.DateTimeField(null=True, blank=True)
    quarantine_level = models.PositiveSmallIntegerField(default=0)
    #: why, in a fixed set (see provisioning.metrics.QUARANTINE_REASONS): credentials, configuration, ...
    quarantine_kind = models.CharField(max_length=20, blank=True)
    staged_cycle = models.ForeignKey("SyncCycle", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    last_cycle = models.ForeignKey("SyncCycle", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.job_id

    @property
    def is_authorized(self) -> bool:
        return bool(self.target_refresh_token)

    @property
    def is_quarantined(self) -> bool:
        return self.state == JobState.QUARANTINED


class ObjectMapping(models.Model):
    """One of the application's mappings: Entra users (or groups) to Dropbox members
    (or groups), with its target object actions and scoping filters."""

    job = models.ForeignKey(ProvisioningJob, on_delete=models.CASCADE, related_name="object_mappings")
    object_type = models.CharField(max_length=10, choices=ObjectType.choices)
    enabled = models.BooleanField(default=True)
    allow_create = models.BooleanField("Create", default=True)
    allow_update = models.BooleanField("Update", default=True)
    allow_delete = models.BooleanField("Delete", default=True)
    #: Filters ORed; clauses in a filter ANDed: [{"clauses": [{"attribute", "operator", "value"}]}]
    scoping_filters = models.JSONField(default=list, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["job", "object_type"], name="one_mapping_per_type")]

    def __str__(self) -> str:
        return f"{self.job} {self.object_type}"

    @property
    def title(self) -> str:
        noun = "Users" if self.object_type == ObjectType.USER else "Groups"
        return f"Synchronize Azure Active Directory {noun} to Dropbox for Business"


class AttributeMapping(models.Model):
    """Which source attribute, constant or expression flows into a target attribute."""

    object_mapping = models.ForeignKey(ObjectMapping, on_delete=models.CASCADE, related_name="attributes")
    target_attribute = models.CharField(max_length=100)
    mapping_type = models.CharField(max_length=12, choices=MappingType.choices, default=MappingType.DIRECT)
    source_attribute = models.CharField(max_length=100, blank=True)
    constant_value = models.TextField(blank=True)
    expression = models.TextField(blank=True)
    default_value = models.TextField(blank=True)
    is_matching = models.BooleanField("Match objects using this attribute", default=False)
    matching_precedence = models.PositiveSmallIntegerField(null=True, blank=True)
    apply_when = models.CharField(max_length=10, choices=ApplyWhen.choices, default=ApplyWhen.ALWAYS)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["object_mapping", "target_attribute"], name="one_mapping_per_target"),
        ]

    def __str__(self) -> str:
        return f"{self.source_display} -> {self.target_attribute}"

    @property
    def source_display(self) -> str:
        if self.mapping_type == MappingType.CONSTANT:
            return f'"{self.constant_value}"'
        if self.mapping_type == MappingType.EXPRESSION:
            return self.expression
        if self.mapping_type == MappingType.NONE:
            return ""
        return self.source_attribute


class SyncCycle(models.Model):
    """One provisioning cycle of a job: its kind, progress and counters."""

    job = models.ForeignKey(ProvisioningJob, on_delete=models.CASCADE, related_name="cycles")
    cycle_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(max_length=12, choices=CycleKind.choices)
    status = models.CharField(max_length=30, choices=CycleStatus.choices, default=CycleStatus.RUNNING)
    phase = models.CharField(max_length=120, blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    objects_in_scope = models.PositiveIntegerField(default=0)
    objects_processed = models.PositiveIntegerField(default=0)
    #: {"Create": {"Success": 3, "Failure": 1}, ...}
    counters = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    initiated_by = models.CharField(max_length=254, blank=True)
    #: calls made to the target application and to the source directory
    target_calls = models.PositiveIntegerField(default=0)
    #: members of the target that a full cycle found linked to no source user (None: not counted)
    unlinked_accounts = models.PositiveIntegerField(null=True, blank=True)
    source_calls = models.PositiveIntegerField(default=0)
    rate_limit_waited_seconds = models.FloatField(default=0)

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["job", "-started_at"], name="cycle_job_time")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.cycle_id}"

    @property
    def percent(self) -> int:
        if self.status != CycleStatus.RUNNING:
            return 100
        if not self.objects_in_scope:
            return 0
        return min(99, int(100 * self.objects_processed / self.objects_in_scope))

    @property
    def duration(self):
        return (self.finished_at - self.started_at) if self.finished_at else None

    def count(self, action: str, status: str | None = None) -> int:
        by_status = self.counters.get(action, {})
        return sum(by_status.values()) if status is None else by_status.get(status, 0)


class ObjectLink(models.Model):
    """A provisioned object: the Entra object and the Dropbox object it is linked to,
    with the values last written, so the next cycle sends only what changed."""

    #: no index of its own: the indexes below all begin with the job
    job = models.ForeignKey(ProvisioningJob, on_delete=models.CASCADE, related_name="links", db_index=False)
    object_type = models.CharField(max_length=10, choices=ObjectType.choices)
    source_id = models.CharField(max_length=64)
    target_id = models.CharField(max_length=120)
    display_name = models.CharField(max_length=300, blank=True)
    user_principal_name = models.CharField(max_length=300, blank=True)
    target_email = models.CharField(max_length=300, blank=True)
    state = models.CharField(max_length=10, choices=LinkState.choices, default=LinkState.ACTIVE)
    #: The target attributes as last exported: {"email": ..., "givenName": ..., "members": [...]}
    exported = models.JSONField(default=dict, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    #: how the link was made: the matching attribute that found the target object, or "created"
    matched_by = models.CharField(max_length=60, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["job", "object_type", "source_id"], name="one_link_per_source"),
        ]
        indexes = [
            models.Index(fields=["job", "object_type", "target_id"], name="link_target"),
            models.Index(fields=["job", "state", "disabled_at"], name="link_state"),
        ]

    def __str__(self) -> str:
        return f"{self.object_type} {self.source_id} -> {self.target_id}"


class SourceMembership(models.Model):
    """A direct member of a group in Entra ID, as last read (for incremental cycles)."""

    #: no index of its own: the indexes below all begin with the job
    job = models.ForeignKey(ProvisioningJob, on_delete=models.CASCADE, related_name="memberships", db_index=False)
    group_id = models.CharField(max_length=64)
    member_id = models.CharField(max_length=64)
    member_type = models.CharField(max_length=10, default="user")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["job", "group_id", "member_id"], name="one_membership"),
        ]
        indexes = [models.Index(fields=["job", "member_id"], name="membership_member")]


class SourceAssignment(models.Model):
    """An app role assignment of the application's service principal, as last read."""

    #: no index of its own: the indexes below all begin with the job
    job = models.ForeignKey(ProvisioningJob, on_delete=models.CASCADE, related_name="assignments", db_index=False)
    assignment_id = models.CharField(max_length=120)
    principal_id = models.CharField(max_length=64)
    principal_type = models.CharField(max_length=20)
    principal_display_name = models.CharField(max_length=300, blank=True)
    app_role_id = models.CharField(max_length=64)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["job", "assignment_id"], name="one_assignment"),
        ]
        indexes = [models.Index(fields=["job", "principal_id"], name="assignment_principal")]


class Escrow(models.Model):
    """An object whose write failed for a passing reason, retried by later cycles
    with a growing delay instead of failing the whole cycle."""

    #: no index of its own: the indexes below all begin with the job
    job = models.ForeignKey(ProvisioningJob, on_delete=models.CASCADE, related_name="escrows", db_index=False)
    object_type = models.CharField(max_length=10, choices=ObjectType.choices)
    source_id = models.CharField(max_length=64)
    attempts = models.PositiveIntegerField(default=1)
    not_before = models.DateTimeField()
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["job", "object_type", "source_id"], name="one_escrow_per_object"),
        ]


class PendingWrite(models.Model):
    """A write to the target, recorded before it is sent and deleted (in the same transaction that
    writes its log row and link) once its answer is recorded. One left behind by a run that stopped
    (a killed worker, a lost database) is resolved by the next run, which reads the target to see
    whether the write landed, so no change the portal made goes without its log row."""

    #: no index of its own: the indexes below all begin with the job
    job = models.ForeignKey(ProvisioningJob, on_delete=models.CASCADE, related_name="pending_writes", db_index=False)
    #: the cycle that made the write (none for provision on demand)
    cycle_id = models.UUIDField(null=True, blank=True)
    #: the log row this write will have
    change_id = models.UUIDField(unique=True)
    initiated_by = models.CharField(max_length=254, blank=True)
    object_type = models.CharField(max_length=10, choices=ObjectType.choices)
    source_id = models.CharField(max_length=64)
    action = models.CharField(max_length=16, choices=Action.choices)
    #: the planned action, whole: what its log row and link say once it is resolved
    plan = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["job", "created_at"], name="pending_write_job_time")]

    def __str__(self) -> str:
        return f"{self.action} {self.object_type} {self.source_id}"


class ProvisioningLog(models.Model):
    """One action on one identity in one cycle, shaped like Graph's provisioningObjectSummary."""

    #: no index of its own: the indexes below all begin with the job
    job = models.ForeignKey(ProvisioningJob, on_delete=models.CASCADE, related_name="logs", db_index=False)
    activity_time = models.DateTimeField(db_index=True)
    cycle_id = models.UUIDField(null=True, blank=True)
    change_id = models.UUIDField(unique=True)
    initiated_by = models.CharField(max_length=254, default="Microsoft.Azure.SyncFabric")
    object_type = models.CharField(max_length=10, choices=ObjectType.choices, default=ObjectType.USER)
    action = models.CharField(max_length=16, choices=Action.choices)
    status = models.CharField(max_length=10, choices=LogStatus.choices)
    error_code = models.CharField(max_length=120, blank=True)
    error_reason = models.TextField(blank=True)
    recommendation = models.TextField(blank=True)
    source_id = models.CharField(max_length=64, blank=True)
    source_display_name = models.CharField(max_length=300, blank=True)
    source_upn = models.CharField(max_length=300, blank=True)
    target_id = models.CharField(max_length=120, blank=True)
    target_email = models.CharField(max_length=300, blank=True)
    #: [{"name": "Import user", "status": "Success", "description": ..., "details": {...}}]
    steps = models.JSONField(default=list, blank=True)
    #: [{"name": "givenName", "old": ..., "new": ...}]
    modified_properties = models.JSONField(default=list, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-activity_time", "-id"]
        indexes = [
            models.Index(fields=["job", "-activity_time", "-id"], name="log_job_time"),
            models.Index(fields=["job", "status", "-activity_time", "-id"], name="log_job_status_time"),
            models.Index(fields=["job", "action", "-activity_time", "-id"], name="log_job_action_time"),
            models.Index(fields=["job", "cycle_id", "-activity_time", "-id"], name="log_job_cycle_time"),
            models.Index(fields=["job", "source_id"], name="log_job_source"),
            models.Index(fields=["job", "target_id"], name="log_job_target"),
            # Status and Action together: apart, a combination that matches nothing
            # (Create + Skipped) would walk every Create row of the date range.
            models.Index(fields=["job", "status", "action", "-activity_time", "-id"], name="log_job_status_action"),
            # Groups are a few percent of the rows: their own order keeps "Groups" cheap with any other filter.
            models.Index(fields=["job", "object_type", "-activity_time", "-id"], name="log_job_type_time"),
            # The Identity filter's prefix indexes are PostgreSQL-only: see migration 0005.
        ]

    def __str__(self) -> str:
        return f"{self.activity_time:%Y-%m-%d %H:%M:%S} {self.action} {self.source_display_name} {self.status}"


class NotificationSent(models.Model):
    """The last time a notification was mailed for a reason, so each reason is
    mailed at most once a day."""

    job = models.ForeignKey(ProvisioningJob, on_delete=models.CASCADE, related_name="notifications")
    reason = models.CharField(max_length=60)
    sent_at = models.DateTimeField()
    subject = models.CharField(max_length=300, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["job", "reason"], name="one_notification_per_reason")]


class AlertState(models.Model):
    """Whether an alert is firing for a job, since when, and when it was last sent: one per reason."""

    job = models.ForeignKey(ProvisioningJob, on_delete=models.CASCADE, related_name="alerts")
    reason = models.CharField(max_length=30)
    firing = models.BooleanField(default=False)
    since = models.DateTimeField(null=True, blank=True)
    last_sent_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    message = models.TextField(blank=True)
    #: what the check remembers between evaluations (the escrow sizes of the last cycles)
    history = models.JSONField(default=list, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["job", "reason"], name="one_alert_state_per_reason")]


class CyclePreview(models.Model):
    """A dry run of the next cycle: what it would do, written nowhere else."""

    job = models.ForeignKey(ProvisioningJob, on_delete=models.CASCADE, related_name="previews")
    kind = models.CharField(max_length=12, choices=CycleKind.choices)
    status = models.CharField(max_length=12, default="running")  # running | done | failed
    requested_by = models.CharField(max_length=254, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    counts = models.JSONField(default=dict, blank=True)
    staged_reason = models.TextField(blank=True)
    error = models.TextField(blank=True)
    #: unsaved changes this preview runs with ({"settings": {...}, "filters": {"user": [...]}}); empty: as saved
    draft = models.JSONField(default=dict, blank=True)
    #: the preview of the configuration as saved, made at the same time, that a draft's is compared with
    baseline = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-created_at"]


class PreviewAction(models.Model):
    """One planned action of a preview."""

    preview = models.ForeignKey(CyclePreview, on_delete=models.CASCADE, related_name="actions")
    object_type = models.CharField(max_length=10, choices=ObjectType.choices)
    action = models.CharField(max_length=16, choices=Action.choices)
    source_id = models.CharField(max_length=64)
    display_name = models.CharField(max_length=300, blank=True)
    user_principal_name = models.CharField(max_length=300, blank=True)
    target_email = models.CharField(max_length=300, blank=True)
    reason = models.TextField(blank=True)
    changes = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["preview", "action"], name="preview_action")]


class AccountDiscovery(models.Model):
    """One run of account discovery: every member of the target sorted, written nowhere else."""

    job = models.ForeignKey(ProvisioningJob, on_delete=models.CASCADE, related_name="discoveries")
    status = models.CharField(max_length=12, default="running")  # running | done | failed
    requested_by = models.CharField(max_length=254, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    phase = models.CharField(max_length=120, blank=True)
    #: members sorted so far
    processed = models.PositiveIntegerField(default=0)
    counts = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]


class DiscoveredAccount(models.Model):
    """One member of the target as discovery found it."""

    discovery = models.ForeignKey(AccountDiscovery, on_delete=models.CASCADE, related_name="accounts")
    category = models.CharField(max_length=14, choices=DiscoveryCategory.choices)
    target_id = models.CharField(max_length=120)
    email = models.CharField(max_length=300)
    display_name = models.CharField(max_length=300, blank=True)
    status = models.CharField(max_length=20, blank=True)
    is_admin = models.BooleanField(default=False)
    source_id = models.CharField(max_length=64, blank=True)
    source_upn = models.CharField(max_length=300, blank=True)
    source_display_name = models.CharField(max_length=300, blank=True)
    matched_by = models.CharField(max_length=60, blank=True)
    #: [{"name": ..., "target": ..., "source": ...}] for a drifted member
    differences = models.JSONField(default=list, blank=True)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["email", "id"]
        indexes = [models.Index(fields=["discovery", "category", "email"], name="discovered_category"),
                   models.Index(fields=["discovery", "email"], name="discovered_email")]


class OnDemandRun(models.Model):
    """Provision on demand: one user (or a small group) run through the engine now,
    with its steps recorded as they complete so the page can show them live."""

    job = models.ForeignKey(ProvisioningJob, on_delete=models.CASCADE, related_name="on_demand_runs")
    object_type = models.CharField(max_length=10, choices=ObjectType.choices)
    source_id = models.CharField(max_length=64)
    display_name = models.CharField(max_length=300, blank=True)
    requested_by = models.CharField(max_length=254, blank=True)
    status = models.CharField(max_length=12, default="running")  # running | done | failed
    #: [{"identity": ..., "name": ..., "status": ..., "description": ..., "details": {...}}]
    steps = models.JSONField(default=list, blank=True)
    log_ids = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]


class MetricCounter(models.Model):
    """A cumulative figure behind ``/metrics`` that outlives the rows it counts (cycles and log rows are
    purged after their retention): one row per metric and label set, added to in the transaction that
    records what it counts (see :mod:`provisioning.metrics`). Unused labels are ""."""

    name = models.CharField(max_length=80)
    #: ProvisioningJob.job_id, "" for figures of no job (calls to the services)
    job = models.CharField(max_length=120, blank=True)
    kind = models.CharField(max_length=20, blank=True)
    status = models.CharField(max_length=30, blank=True)
    object_type = models.CharField(max_length=10, blank=True)
    action = models.CharField(max_length=16, blank=True)
    service = models.CharField(max_length=20, blank=True)
    route = models.CharField(max_length=120, blank=True)
    answer = models.CharField(max_length=10, blank=True)
    #: the upper bound of a histogram bucket ("0.5", "+Inf"); "" for counters and sums
    le = models.CharField(max_length=16, blank=True)
    value = models.FloatField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(
            fields=["name", "job", "kind", "status", "object_type", "action", "service", "route", "answer", "le"],
            name="metric_counter_labels")]

    def __str__(self) -> str:
        return f"{self.name} {self.value}"


from .streaming.models import StreamDestination, StreamEntry  # noqa: E402,F401  (log streaming's own models)
