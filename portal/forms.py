"""Forms of the portal. Validation lives here, so views stay thin and every
refusal comes back next to the field it concerns."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django import forms
from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.contrib.auth import get_user_model
from django.utils import timezone

from provisioning.constants import AuditActivity

DATE_RANGES = [
    ("24h", "Last 24 hours"),
    ("7d", "Last 7 days"),
    ("30d", "Last 30 days"),
    ("custom", "Custom time interval"),
]
_RANGE_DELTAS = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}


class PortalForm(forms.Form):
    """Labels without a trailing colon, as in the Entra admin center."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class DateRangeMixin(PortalForm):
    """Date filter shared by the audit and provisioning logs: a preset or a custom interval."""

    date = forms.ChoiceField(choices=DATE_RANGES, required=False, initial="7d", label="Date")
    start = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}), label="From")
    end = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}), label="To")

    def clean(self):
        data = super().clean()
        if data.get("date") == "custom":
            if not data.get("start"):
                self.add_error("start", "Choose the first day of the interval.")
            if data.get("start") and data.get("end") and data["end"] < data["start"]:
                self.add_error("end", "The last day must not be before the first day.")
        return data

    def time_bounds(self) -> tuple[datetime | None, datetime | None]:
        data = self.cleaned_data
        choice = data.get("date") or "7d"
        if choice == "custom":
            tz = timezone.get_current_timezone()
            start = datetime.combine(data["start"], time.min, tz) if data.get("start") else None
            end = datetime.combine(data["end"] + timedelta(days=1), time.min, tz) if data.get("end") else None
            return start, end
        return timezone.now() - _RANGE_DELTAS[choice], None


class AuditFilterForm(DateRangeMixin):
    actor = forms.ModelChoiceField(queryset=get_user_model().objects.none(), required=False, empty_label="All")
    activity = forms.ChoiceField(required=False, choices=[("", "All")] + list(AuditActivity.choices))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["actor"].queryset = get_user_model().objects.filter(auditevent__isnull=False).distinct().order_by(
            "email"
        )
        self.fields["actor"].label_from_instance = lambda user: user.email or user.username


class InviteForm(PortalForm):
    ROLE_CHOICES = [("administrator", "Provisioning administrator"), ("reader", "Provisioning reader")]

    email = forms.EmailField(label="Email address")
    role = forms.ChoiceField(choices=ROLE_CHOICES, initial="reader")

    def clean_email(self):
        email = self.cleaned_data["email"].strip().lower()
        if get_user_model().objects.filter(email__iexact=email).exists():
            raise forms.ValidationError("A portal user with this email address already exists.")
        return email


class RoleForm(PortalForm):
    ROLE_CHOICES = [
        ("administrator", "Provisioning administrator"),
        ("reader", "Provisioning reader"),
        ("applications", "Roles on applications only"),
        ("none", "No access (account disabled)"),
    ]
    role = forms.ChoiceField(choices=ROLE_CHOICES)


class AddApplicationForm(PortalForm):
    gallery_app = forms.CharField(widget=forms.HiddenInput, error_messages={
        "required": "Choose an application of the gallery."})
    display_name = forms.CharField(max_length=120, label="Name", error_messages={
        "required": "Give the application a name.",
        "max_length": "The name can have at most %(limit_value)d characters (it has %(show_value)d).",
    })
    #: "" creates a new enterprise application; an object id uses one already in the tenant
    service_principal = forms.CharField(required=False, max_length=64, label="Enterprise application")

    def clean_gallery_app(self):
        from provisioning import gallery

        entry = gallery.find(self.cleaned_data["gallery_app"])
        if entry is None:
            raise forms.ValidationError("This application is not in the gallery.")
        self.cleaned_data["entry"] = entry
        return entry.key

    def clean_display_name(self):
        name = self.cleaned_data["display_name"].strip()
        if not name:
            raise forms.ValidationError("Give the application a name.")
        return name


class ProvisioningForm(forms.ModelForm):
    """The Provisioning page: mode, notification email and the Settings section.
    Saved as a whole by "Save"; turning the status On starts the initial cycle."""

    transfer_files_to_email = forms.EmailField(
        required=False, label="Transfer the files of removed members to",
        help_text="The email of a Dropbox team admin; leave empty to delete their files with the account.",
    )
    enabled = forms.TypedChoiceField(
        choices=[("True", "On"), ("False", "Off")], coerce=lambda value: value == "True",
        widget=forms.RadioSelect, label="Provisioning Status", initial="False",
    )
    reconcile_every_hours = forms.IntegerField(
        required=False, min_value=1, max_value=720, label="Reconcile with a full cycle every (hours)",
        help_text="A full cycle corrects what was changed by hand in Dropbox and counts the members linked to no "
                  "user. Leave empty to switch it off.",
    )
    delete_after_days = forms.IntegerField(
        required=False, min_value=0, max_value=3650, label="Remove suspended members after (days)",
        help_text="0 removes at once; leave empty to keep suspended members forever.",
    )

    class Meta:
        from provisioning.models import ProvisioningJob

        model = ProvisioningJob
        fields = [
            "mode", "notification_email", "notify_on_failure", "scope", "prevent_accidental_deletion",
            "deletion_threshold", "interval_minutes", "reconcile_every_hours", "on_unassigned", "on_out_of_scope", "on_disabled",
            "on_soft_deleted", "on_hard_deleted", "wipe_devices_on_disable", "delete_after_days",
            "keep_account_on_remove", "wipe_devices_on_remove", "transfer_files_to_email", "remove_invited_members",
            "send_welcome_email", "expand_nested_groups", "alert_no_success_hours", "alert_deprovisions_above",
            "alert_failure_percent", "alert_escrow_cycles", "alert_credentials", "alert_webhook_url",
            "alert_repeat_hours", "enabled",
        ]
        labels = {
            "mode": "Provisioning Mode",
            "notification_email": "Notification Email",
            "notify_on_failure": "Send an email notification when a failure occurs",
            "scope": "Scope",
            "prevent_accidental_deletion": "Prevent accidental deletion",
            "deletion_threshold": "Accidental deletion threshold",
            "interval_minutes": "Provisioning interval (minutes)",
            "wipe_devices_on_disable": "Wipe data from the devices of suspended members",
            "remove_invited_members": "Remove invited members who are deprovisioned before they join",
            "on_unassigned": "When a user is unassigned from the application",
            "on_out_of_scope": "When a user no longer matches the scoping filters",
            "on_disabled": "When a user is disabled in Microsoft Entra ID",
            "on_soft_deleted": "When a user is deleted in Microsoft Entra ID (recycle bin)",
            "on_hard_deleted": "When a user is permanently deleted in Microsoft Entra ID",
            "keep_account_on_remove": "Keep removed members' accounts as Dropbox accounts of their own",
            "wipe_devices_on_remove": "Wipe data from the devices of removed members",
            "send_welcome_email": "Send Dropbox's welcome email to new members",
            "expand_nested_groups": "Include members of nested groups",
            "alert_no_success_hours": "Alert when no cycle completed for (hours)",
            "alert_deprovisions_above": "Alert when one cycle suspends or removes more members than",
            "alert_failure_percent": "Alert when more writes fail in a cycle than (percent)",
            "alert_escrow_cycles": "Alert when the objects waiting for a retry grow for (cycles)",
            "alert_credentials": "Alert when the Dropbox authorization is rejected",
            "alert_webhook_url": "Alert webhook",
            "alert_repeat_hours": "Repeat a firing alert every (hours)",
            "enabled": "Provisioning Status",
        }
        help_texts = {
            "deletion_threshold": "A cycle that would suspend or remove more members than this stops and waits "
                                  "for your review.",
            "interval_minutes": "How often incremental cycles run: from 1 minute to 1 day.",
            "remove_invited_members": "Dropbox cannot suspend a member who has not accepted its invitation.",
            "expand_nested_groups": "Users in groups nested in an assigned group are provisioned too.",
            "on_unassigned": "Also when the user is removed from every assigned group.",
            "keep_account_on_remove": "The person keeps a basic Dropbox account with their files, off the team. "
                                      "Cannot be combined with moving their files or wiping their devices.",
            "send_welcome_email": "Off: members are added silently, without an invitation email from Dropbox.",
            "alert_no_success_hours": "While provisioning is On. Leave empty to switch this alert off.",
            "alert_deprovisions_above": "An early warning below the accidental deletion threshold. Leave empty to "
                                        "switch it off.",
            "alert_failure_percent": "From 1 to 100. Leave empty to switch this alert off.",
            "alert_escrow_cycles": "Leave empty to switch this alert off.",
            "alert_webhook_url": "An https address that receives each alert as JSON (with a \"text\" field for "
                                 "Slack or Teams). Alerts are mailed to the Notification Email too.",
            "alert_repeat_hours": "Each alert is sent once when it fires, again after this long if it still "
                                  "fires, and once when it clears.",
        }
        widgets = {"mode": forms.Select, "scope": forms.Select, "on_unassigned": forms.Select,
                   "on_out_of_scope": forms.Select, "on_disabled": forms.Select, "on_soft_deleted": forms.Select,
                   "on_hard_deleted": forms.Select}

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.fields["deletion_threshold"].min_value = 1
        self.fields["deletion_threshold"].validators.append(MinValueValidator(1))
        self.fields["interval_minutes"].validators += [MinValueValidator(1), MaxValueValidator(1440)]
        for name, low, high in (("alert_no_success_hours", 1, 720), ("alert_deprovisions_above", 0, 1_000_000),
                                ("alert_failure_percent", 1, 100), ("alert_escrow_cycles", 1, 100),
                                ("alert_repeat_hours", 1, 720)):
            field = self.fields[name]
            field.min_value, field.max_value = low, high
            field.validators += [MinValueValidator(low), MaxValueValidator(high)]
            field.widget.attrs.update({"min": low, "max": high})
        self.transfer_member = None

    def clean_notification_email(self):
        return self.cleaned_data["notification_email"].strip().lower()

    def clean_alert_webhook_url(self):
        url = self.cleaned_data["alert_webhook_url"].strip()
        if url and not url.lower().startswith("https://") and not settings.DEBUG:
            raise forms.ValidationError("The alert webhook must be an https address.")
        return url

    def clean_transfer_files_to_email(self):
        return self.cleaned_data["transfer_files_to_email"].strip().lower()

    def clean(self):
        data = super().clean()
        if data.get("notify_on_failure") and not data.get("notification_email") and "notification_email" not in self.errors:
            self.add_error("notification_email", "Enter the email address that should receive failure notifications.")
        above, threshold = data.get("alert_deprovisions_above"), data.get("deletion_threshold")
        if (above is not None and threshold and data.get("prevent_accidental_deletion")
                and above >= threshold and "alert_deprovisions_above" not in self.errors):
            self.add_error("alert_deprovisions_above", f"Set it below the accidental deletion threshold "
                                                       f"({threshold}): that threshold stops the cycle anyway.")
        if data.get("keep_account_on_remove"):
            # Dropbox refuses either with keep_account (cannot_keep_account_and_transfer / _and_delete_data).
            if data.get("transfer_files_to_email") and "transfer_files_to_email" not in self.errors:
                self.add_error("transfer_files_to_email", "A kept account keeps its files: clear this field, or do "
                                                          "not keep removed members' accounts.")
            if data.get("wipe_devices_on_remove"):
                self.add_error("wipe_devices_on_remove", "A kept account keeps its devices' data: do not wipe them, "
                                                         "or do not keep removed members' accounts.")
        if data.get("enabled") is True:
            if data.get("mode") != "automatic":
                self.add_error("enabled", "Set Provisioning Mode to Automatic to turn provisioning On.")
            elif not self.instance.is_authorized:
                self.add_error("enabled", "Authorize the portal against Dropbox before turning provisioning On.")
        return data


class AssignForm(PortalForm):
    principal_id = forms.CharField(max_length=64)
    principal_type = forms.ChoiceField(choices=[("User", "User"), ("Group", "Group")])
    principal_name = forms.CharField(max_length=300, required=False)
    app_role_id = forms.CharField(max_length=64, label="Select a role")

    def __init__(self, *args, roles: list[dict] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.roles = roles or []

    def clean_app_role_id(self):
        role = self.cleaned_data["app_role_id"]
        if role not in {r["id"] for r in self.roles}:
            raise forms.ValidationError("Choose one of the application's roles.")
        return role


class RenameForm(PortalForm):
    display_name = forms.CharField(max_length=120, label="Name")

    def clean_display_name(self):
        name = self.cleaned_data["display_name"].strip()
        if not name:
            raise forms.ValidationError("Give the application a name.")
        return name
