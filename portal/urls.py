from django.contrib import admin
from django.urls import include, path

from .views import applications, assignments, audit, gallery, logs, provisioning, status, users
from .views import discovery, expressions, mappings, ondemand, overview

app_name = "portal"

portal_patterns = [
    path("", applications.home, name="home"),
    path("enterprise-applications/", applications.all_applications, name="applications"),
    path("enterprise-applications/gallery/", gallery.browse, name="gallery"),
    path("enterprise-applications/gallery/add/", gallery.add, name="gallery_add"),
    path("applications/<uuid:app_id>/", overview.overview, name="overview"),
    path("applications/<uuid:app_id>/cycle-status/", overview.cycle_status, name="cycle_status"),
    path("applications/<uuid:app_id>/start/", overview.start, name="start_provisioning"),
    path("applications/<uuid:app_id>/stop/", overview.stop, name="stop_provisioning"),
    path("applications/<uuid:app_id>/restart/", overview.restart, name="restart_provisioning"),
    path("applications/<uuid:app_id>/allow-deletes/", overview.allow_deletes, name="allow_deletes"),
    path("applications/<uuid:app_id>/rename/", overview.rename, name="rename_application"),
    path("applications/<uuid:app_id>/preview/", overview.preview_start, name="preview_start"),
    path("applications/<uuid:app_id>/preview/<int:preview_id>/", overview.preview, name="preview"),
    path("applications/<uuid:app_id>/users-and-groups/", assignments.users_and_groups, name="users_and_groups"),
    path("applications/<uuid:app_id>/account-discovery/", discovery.page, name="discovery_page"),
    path("applications/<uuid:app_id>/account-discovery/start/", discovery.start, name="discovery_start"),
    path("applications/<uuid:app_id>/account-discovery/<int:discovery_id>/", discovery.detail, name="discovery"),
    path("applications/<uuid:app_id>/account-discovery/<int:discovery_id>/download/", discovery.download,
         name="discovery_download"),
    path("applications/<uuid:app_id>/users-and-groups/add/", assignments.add_assignment, name="add_assignment"),
    path("applications/<uuid:app_id>/users-and-groups/search/", assignments.directory_search, name="directory_search"),
    path("applications/<uuid:app_id>/users-and-groups/assign/", assignments.assign, name="assign"),
    path("applications/<uuid:app_id>/users-and-groups/<str:assignment_id>/remove/", assignments.unassign,
         name="unassign"),
    path("applications/<uuid:app_id>/provisioning/", provisioning.provisioning, name="provisioning"),
    path("applications/<uuid:app_id>/provisioning/save/", provisioning.save, name="provisioning_save"),
    path("applications/<uuid:app_id>/provisioning/mappings/", mappings.mappings, name="mappings"),
    path("applications/<uuid:app_id>/provisioning/mappings/<str:object_type>/", mappings.attribute_mappings,
         name="attribute_mappings"),
    path("applications/<uuid:app_id>/provisioning/mappings/<str:object_type>/new/", mappings.add_mapping,
         name="add_attribute_mapping"),
    path("applications/<uuid:app_id>/provisioning/mappings/<str:object_type>/<int:mapping_id>/", mappings.edit_mapping,
         name="edit_attribute_mapping"),
    path("applications/<uuid:app_id>/provisioning/mappings/<str:object_type>/<int:mapping_id>/delete/",
         mappings.delete_mapping, name="delete_attribute_mapping"),
    path("applications/<uuid:app_id>/provisioning/mappings/<str:object_type>/restore/", mappings.restore_defaults,
         name="restore_default_mappings"),
    path("applications/<uuid:app_id>/provisioning/mappings/<str:object_type>/scoping-filters/",
         mappings.scoping_filters, name="scoping_filters"),
    path("applications/<uuid:app_id>/provisioning/expression-builder/", expressions.builder, name="expression_builder"),
    path("applications/<uuid:app_id>/provisioning/expression-builder/evaluate/", expressions.evaluate,
         name="expression_evaluate"),
    path("applications/<uuid:app_id>/provisioning/expression-builder/users/", expressions.search_users,
         name="expression_users"),
    path("applications/oauth/<slug:target>/callback/", provisioning.oauth_callback, name="oauth_callback"),
    path("applications/<uuid:app_id>/provision-on-demand/", ondemand.page, name="on_demand"),
    path("applications/<uuid:app_id>/provision-on-demand/search/", ondemand.search, name="on_demand_search"),
    path("applications/<uuid:app_id>/provision-on-demand/provision/", ondemand.provision, name="on_demand_provision"),
    path("applications/<uuid:app_id>/provision-on-demand/<int:run_id>/", ondemand.run_detail, name="on_demand_run"),
    path("applications/<uuid:app_id>/provisioning-logs/", logs.provisioning_logs, name="provisioning_logs"),
    path("applications/<uuid:app_id>/provisioning-logs/download/", logs.download, name="provisioning_logs_download"),
    path("applications/<uuid:app_id>/provisioning-logs/<int:log_id>/", logs.provisioning_log_detail,
         name="provisioning_log_detail"),
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

handler500 = "portal.views.errors.server_error"
