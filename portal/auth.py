"""Sign-in rules: no open sign-up. Administrators are created with
``createsuperuser`` or invited from the portal by an administrator.

Failed sign-ins are rate limited per account and per client address
(``ACCOUNT_RATE_LIMITS``); the address is the one the audit trail records: the
real client behind ``TRUSTED_PROXY_COUNT`` proxies, not the proxy that every
user shares."""

from allauth.account.adapter import DefaultAccountAdapter
from django import forms
from django.conf import settings
from django.core.exceptions import PermissionDenied

from provisioning.audit import client_ip


class ClosedSignupAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request) -> bool:
        return False

    def authenticate(self, request, **credentials):
        user = super().authenticate(request, **credentials)
        if user is not None and not settings.LOCAL_SIGN_IN and not user.is_superuser:
            from provisioning import audit
            from provisioning.constants import AuditActivity, AuditResult

            audit.record(AuditActivity.SIGN_IN, request=request, actor=user, target=user, target_type="User",
                         target_display=user.email, result=AuditResult.FAILURE,
                         detail="Password sign-in refused: only superusers sign in with a password (LOCAL_SIGN_IN "
                                "is off).")
            raise forms.ValidationError("Sign in with Microsoft: passwords are only for superusers here.")
        return user

    def get_client_ip(self, request) -> str:
        address = client_ip(request)
        if not address:
            raise PermissionDenied("The client address is unknown.")
        return address
