"""The personal API token form."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from django import forms
from django.utils import timezone

from .models import TokenScope

#: the furthest an expiry may be set: a token is a standing credential, so it must run out
MAX_DAYS = 366


class TokenForm(forms.Form):
    """Name, expiry (required) and scope of a new token. Someone who may only read gets read-only tokens."""

    name = forms.CharField(label="Name", max_length=80, help_text="What the token is for, such as the script or "
                           "the machine that uses it. The audit log names it with every change it makes.")
    expires_on = forms.DateField(label="Expires on", widget=forms.DateInput(attrs={"type": "date"}),
                                 help_text=f"Required: at most {MAX_DAYS} days from today. The token stops "
                                           "working at the start of that day (UTC).")
    scope = forms.ChoiceField(label="Scope", choices=TokenScope.choices, initial=TokenScope.READ,
                              widget=forms.RadioSelect)

    def __init__(self, *args, can_write: bool, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.can_write = can_write
        self.fields["expires_on"].initial = timezone.now().date() + timedelta(days=30)
        if not can_write:
            self.fields["scope"].help_text = ("Read and write needs the Provisioning administrators role (on the "
                                              "portal or on an application).")

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError("Give the token a name.")
        return name

    def clean_expires_on(self):
        day = self.cleaned_data["expires_on"]
        today = timezone.now().date()
        if day <= today:
            raise forms.ValidationError("Choose a day after today.")
        if day > today + timedelta(days=MAX_DAYS):
            raise forms.ValidationError(f"A token may last at most {MAX_DAYS} days.")
        return day

    def clean_scope(self):
        scope = self.cleaned_data["scope"]
        if scope == TokenScope.READ_WRITE and not self.can_write:
            raise forms.ValidationError("You can create read-only tokens only: read and write needs the "
                                        "Provisioning administrators role.")
        return scope

    def expires_at(self) -> datetime:
        return datetime.combine(self.cleaned_data["expires_on"], time.min, UTC)
