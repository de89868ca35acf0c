"""The filters of the "Provisioning logs" page, as Entra shows them: Date,
Status, Action, Identity, Cycle ID, Change ID and Object type. They travel in
the query string, so a filtered view can be bookmarked and shared; the page
cursor travels with them."""

from __future__ import annotations

from django import forms

from provisioning.constants import Action, LogStatus, ObjectType
from provisioning.logs import Cursor, LogQuery

from .forms import DateRangeMixin

#: The query string keys of the filters (the page cursor is not one of them).
FILTER_FIELDS = ("date", "start", "end", "status", "action", "identity", "cycle_id", "change_id", "object_type")

_BAD_CURSOR = "This page link is not valid any more. Start again from the first page."


class ProvisioningLogFilterForm(DateRangeMixin):
    status = forms.ChoiceField(required=False, choices=[("", "All")] + list(LogStatus.choices), label="Status")
    action = forms.ChoiceField(required=False, choices=[("", "All")] + list(Action.choices), label="Action")
    identity = forms.CharField(
        required=False, max_length=300, label="Identity",
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Name, UPN, email or object ID"}),
    )
    cycle_id = forms.UUIDField(required=False, label="Cycle ID",
                               error_messages={"invalid": "Enter a cycle ID: 32 hexadecimal digits with dashes."})
    change_id = forms.UUIDField(required=False, label="Change ID",
                                error_messages={"invalid": "Enter a change ID: 32 hexadecimal digits with dashes."})
    object_type = forms.ChoiceField(
        required=False, label="Object type",
        choices=[("", "All"), (ObjectType.USER, "Users"), (ObjectType.GROUP, "Groups")],
    )
    after = forms.CharField(required=False, widget=forms.HiddenInput)
    before = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, data=None, *args, **kwargs):
        if data is not None:
            # The default range, as on the audit logs: the last 7 days.
            data = data.copy()
            if not data.get("date"):
                data["date"] = "7d"
        super().__init__(data, *args, **kwargs)

    def _clean_cursor(self, name: str) -> Cursor | None:
        token = self.cleaned_data.get(name, "").strip()
        if not token:
            return None
        try:
            return Cursor.decode(token)
        except ValueError:
            raise forms.ValidationError(_BAD_CURSOR) from None

    def clean_after(self) -> Cursor | None:
        return self._clean_cursor("after")

    def clean_before(self) -> Cursor | None:
        return self._clean_cursor("before")

    def clean(self):
        data = super().clean()
        if data.get("after") and data.get("before"):
            raise forms.ValidationError(_BAD_CURSOR)
        return data

    def log_query(self) -> LogQuery:
        """The filters as the data access layer takes them (only once the form is valid)."""
        data = self.cleaned_data
        start, end = self.time_bounds()
        return LogQuery(
            start=start, end=end, status=data.get("status") or "", action=data.get("action") or "",
            identity=(data.get("identity") or "").strip(), cycle_id=data.get("cycle_id"),
            change_id=data.get("change_id"), object_type=data.get("object_type") or "",
        )

    @property
    def visible_filters(self):
        """The fields shown in the filter bar (the cursor is carried by the pager's links)."""
        return [self[name] for name in FILTER_FIELDS]

    @property
    def cursor_errors(self) -> list[str]:
        return [*self.non_field_errors(), *self.errors.get("after", []), *self.errors.get("before", [])]
