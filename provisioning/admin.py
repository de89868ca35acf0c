"""The Django admin shows the portal's records read-only. Applications, jobs and
links change only through the portal's pages (and its services), where every
change is checked and written to the audit trail; history is never edited."""

from django.contrib import admin

from .models import Application, AuditEvent, ObjectLink, ProvisioningJob, ProvisioningLog, ServiceHeartbeat


class ReadOnlyAdmin(admin.ModelAdmin):
    """Visible to superusers, never added, edited or deleted by hand."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Application)
class ApplicationAdmin(ReadOnlyAdmin):
    list_display = ["display_name", "gallery_app", "service_principal_id", "created_at"]
    search_fields = ["display_name", "service_principal_id", "app_id"]


@admin.register(ProvisioningJob)
class ProvisioningJobAdmin(ReadOnlyAdmin):
    list_display = ["job_id", "application", "mode", "enabled", "state", "next_run_at", "quarantine_code"]
    list_filter = ["mode", "enabled", "state"]
    list_select_related = ["application"]
    # The stored authorization is a secret: never shown, not even encrypted.
    exclude = ["target_refresh_token"]


@admin.register(ObjectLink)
class ObjectLinkAdmin(ReadOnlyAdmin):
    list_display = ["source_id", "display_name", "object_type", "target_id", "target_email", "state", "job"]
    list_filter = ["object_type", "state"]
    search_fields = ["=source_id", "=target_id", "^display_name", "^user_principal_name", "^target_email"]
    list_select_related = ["job"]
    show_full_result_count = False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "actor_display", "activity", "target_display", "application", "result", "ip_address"]
    list_filter = ["activity", "category", "result", ("created_at", admin.DateFieldListFilter), ("actor", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["actor_display", "target_display", "target_id", "detail"]
    date_hierarchy = "created_at"
    list_select_related = ["application"]


@admin.register(ServiceHeartbeat)
class ServiceHeartbeatAdmin(ReadOnlyAdmin):
    list_display = ["name", "last_seen", "hostname"]


@admin.register(ProvisioningLog)
class ProvisioningLogAdmin(ReadOnlyAdmin):
    """What the engine did, row by row. Search starts with a name, UPN or email
    (the prefix indexes answer it) or is exactly an object id or change id."""

    list_display = ["activity_time", "source_display_name", "source_upn", "object_type", "action", "status",
                    "error_code", "job"]
    list_filter = ["status", "action", "object_type", ("activity_time", admin.DateFieldListFilter)]
    search_fields = ["^source_display_name", "^source_upn", "^target_email", "=source_id", "=target_id",
                     "=change_id"]
    list_select_related = ["job"]
    ordering = ["-activity_time", "-id"]
    # The table holds millions of rows: no COUNT(*) of all of them under the results.
    show_full_result_count = False
    readonly_fields = [field.name for field in ProvisioningLog._meta.fields]
