from django.contrib import admin

from .models import Application, AuditEvent, ServiceHeartbeat


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records that are history: visible to superusers, never edited or deleted by hand."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Application)
class ApplicationAdmin(admin.ModelAdmin):
    list_display = ["display_name", "gallery_app", "service_principal_id", "created_at"]
    search_fields = ["display_name", "service_principal_id", "app_id"]
    readonly_fields = ["id", "created_at", "updated_at"]


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
