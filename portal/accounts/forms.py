"""Forms of the accounts pages: a role on one application; sign-in with a passkey."""

from __future__ import annotations

from allauth.core import context
from allauth.mfa.webauthn.forms import LoginWebAuthnForm
from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model

from provisioning import audit
from provisioning.constants import AuditActivity, AuditResult

from .models import ApplicationRole


class ApplicationRoleForm(forms.Form):
    """Give a portal user, picked by email address, a role on one application."""

    user = forms.ModelChoiceField(queryset=get_user_model().objects.none(), label="User", empty_label="Select a user",
                                  error_messages={"required": "Select a portal user.",
                                                  "invalid_choice": "Select a portal user of the list."})
    role = forms.ChoiceField(choices=ApplicationRole.choices, label="Role", initial=ApplicationRole.READER)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        # Superusers have every role already; disabled accounts cannot sign in.
        self.fields["user"].queryset = get_user_model().objects.filter(is_active=True, is_superuser=False).order_by(
            "email")
        self.fields["user"].label_from_instance = lambda user: user.email or user.username


class PasskeyLoginForm(LoginWebAuthnForm):
    """Sign-in with a passkey is a local sign-in: with ``LOCAL_SIGN_IN=false`` only superusers
    (the break-glass path) may use it, as with a password."""

    def clean_credential(self):
        authenticator = super().clean_credential()
        user = authenticator.user
        if not settings.LOCAL_SIGN_IN and not user.is_superuser:
            audit.record(AuditActivity.SIGN_IN, request=context.request, actor=user, target_type="User", target_id=str(user.pk),
                         target_display=user.email, result=AuditResult.FAILURE,
                         detail="Passkey sign-in refused: only superusers sign in with the portal's own accounts "
                                "(LOCAL_SIGN_IN is off).")
            raise forms.ValidationError("Sign in with Microsoft: passkeys are only for superusers here.")
        return authenticator
