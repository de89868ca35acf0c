"""Forms of the accounts pages: a role on one application."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model

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
