# Roles on one application and the portal's record of open sessions.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = (
        # Only the application itself is needed: it has been there since the first migration.
        ("provisioning", "0001_initial"),
        ("sessions", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    )

    operations = (
        migrations.CreateModel(
            name="UserSession",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("user_agent", models.CharField(blank=True, max_length=500)),
                ("ip_address", models.GenericIPAddressField(blank=True, null=True)),
                ("signed_in_at", models.DateTimeField()),
                ("last_seen", models.DateTimeField()),
                ("session", models.OneToOneField(on_delete=django.db.models.deletion.CASCADE,
                                                 related_name="portal_session", to="sessions.session")),
                ("user", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE,
                                           related_name="portal_sessions", to=settings.AUTH_USER_MODEL)),
            ],
            options={"ordering": ("-last_seen",)},
        ),
        migrations.CreateModel(
            name="ApplicationRoleGrant",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("role", models.CharField(choices=[("administrator", "Application administrator"),
                                                   ("reader", "Application reader")], max_length=20)),
                ("granted_by", models.CharField(blank=True, max_length=254)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("application", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE,
                                                  related_name="role_grants", to="provisioning.application")),
                ("user", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE,
                                           related_name="application_roles", to=settings.AUTH_USER_MODEL)),
            ],
            options={
                "ordering": ("user__email",),
                "constraints": (models.UniqueConstraint(fields=("application", "user"),
                                                        name="one_role_per_application"),),
            },
        ),
    )
