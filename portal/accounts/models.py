"""A person's role on one application, and the sessions people have open."""

from __future__ import annotations

from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import models


class ApplicationRole(models.TextChoices):
    ADMINISTRATOR = "administrator", "Application administrator"
    READER = "reader", "Application reader"


class ApplicationRoleGrant(models.Model):
    """A role on one enterprise application only, as an owner of an enterprise application
    has in Entra ID: an administrator changes that application, a reader sees it. Global roles
    (the Provisioning administrators and readers groups) cover every application already."""

    application = models.ForeignKey("provisioning.Application", on_delete=models.CASCADE,
                                    related_name="role_grants")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="application_roles")
    role = models.CharField(max_length=20, choices=ApplicationRole.choices)
    granted_by = models.CharField(max_length=254, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = (models.UniqueConstraint(fields=("application", "user"), name="one_role_per_application"),)
        ordering = ("user__email",)

    def __str__(self) -> str:
        return f"{self.user.email or self.user.username}: {self.get_role_display()}"


class UserSession(models.Model):
    """What the portal knows of one open session: whose it is, from which device and address,
    when it began and when it was last seen. The row goes with its session (sign-out, expiry
    swept by ``clearsessions``, a new key at sign-in), since it hangs on the session store's row.
    The session key itself is never shown: pages name a session by this row's id."""

    session = models.OneToOneField(Session, on_delete=models.CASCADE, related_name="portal_session")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="portal_sessions")
    user_agent = models.CharField(max_length=500, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    signed_in_at = models.DateTimeField()
    last_seen = models.DateTimeField()

    class Meta:
        ordering = ("-last_seen",)

    def __str__(self) -> str:
        return f"{self.user} from {self.ip_address or 'an unknown address'}"
