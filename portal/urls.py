from django.contrib import admin
from django.urls import include, path

from .views import applications, assignments, audit, blade, gallery, provisioning, status, users

app_name = "portal"

portal_patterns = [
    path("", applications.home, name="home"),
    path("enterprise-applications/", applications.all_applications, name="applications"),
    path("enterprise-applications/gallery/", gallery.browse, name="gallery"),
    path("enterprise-applications/gallery/add/", gallery.add, name="gallery_add"),
    path("applications/<uuid:app_id>/", blade.overview, name="overview"),
    path("applications/<uuid:app_id>/users-and-groups/", assignments.users_and_groups, name="users_and_groups"),
    path("applications/<uuid:app_id>/users-and-groups/add/", assignments.add_assignment, name="add_assignment"),
    path("applications/<uuid:app_id>/users-and-groups/search/", assignments.directory_search, name="directory_search"),
    path("applications/<uuid:app_id>/users-and-groups/assign/", assignments.assign, name="assign"),
    path("applications/<uuid:app_id>/users-and-groups/<str:assignment_id>/remove/", assignments.unassign,
         name="unassign"),
    path("applications/<uuid:app_id>/provisioning/", provisioning.provisioning, name="provisioning"),
    path("applications/<uuid:app_id>/provisioning/save/", provisioning.save, name="provisioning_save"),
    path("applications/oauth/dropbox/callback/", provisioning.dropbox_callback, name="dropbox_callback"),
    path("applications/<uuid:app_id>/provision-on-demand/", blade.provision_on_demand, name="on_demand"),
    path("applications/<uuid:app_id>/provisioning-logs/", blade.provisioning_logs, name="provisioning_logs"),
    path("applications/<uuid:app_id>/audit-logs/", audit.application_audit_logs, name="app_audit_logs"),
    path("audit-logs/", audit.audit_logs, name="audit_logs"),
    path("portal-users/", users.portal_users, name="portal_users"),
    path("portal-users/invite/", users.invite, name="invite_user"),
    path("portal-users/<int:user_id>/role/", users.change_role, name="change_role"),
    path("status/services/", status.services, name="service_status"),
    path("outbox/", status.outbox, name="outbox"),
]

urlpatterns = [
    path("", include((portal_patterns, "portal"))),
    path("healthz", status.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
]
