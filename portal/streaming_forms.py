"""The form of a log streaming destination. Every bad value comes back as an error next to its
field: an address that is not https://, a host or port that cannot be, a CA file that is missing
or holds no certificate, a file outside the streams folder."""

from __future__ import annotations

import ipaddress
import re
import ssl
from pathlib import Path

from django import forms
from django.core.validators import URLValidator

from provisioning.constants import StreamKind
from provisioning.models import StreamDestination
from provisioning.streaming import conf
from provisioning.streaming.transports import file_path

_HOSTNAME = re.compile(r"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}"
                       r"[A-Za-z0-9])?)*\.?$")
_HTTP_KINDS = (StreamKind.WEBHOOK, StreamKind.SPLUNK_HEC)


class DestinationForm(forms.ModelForm):
    """Add or change a destination. The token is write-only: never rendered, kept when left empty."""

    #: text, checked in clean_url (a URLField would add http:// to a bare host name)
    url = forms.CharField(required=False, max_length=500, label=StreamDestination._meta.get_field("url").verbose_name,
                          help_text=StreamDestination._meta.get_field("url").help_text)
    token = forms.CharField(
        required=False, strip=True, label="Token", widget=forms.PasswordInput(render_value=False),
        help_text="The webhook's bearer token or the HEC token. Stored encrypted and never shown again; "
                  "leave empty to keep the stored one.")
    clear_token = forms.BooleanField(required=False, label="Remove the stored token")

    class Meta:
        model = StreamDestination
        fields = ("name", "kind", "enabled", "send_logs", "send_audit", "url", "host", "port", "tls", "ca_file",
                  "path", "max_attempts")

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.fields["path"].help_text = f"A file name inside {conf.file_dir()} (JSON lines, appended)."
        self.fields["max_attempts"].min_value = 1
        self.fields["max_attempts"].widget.attrs.update(min=1, max=100)
        self.fields["port"].widget.attrs.update(min=1, max=65535)

    def clean_url(self) -> str:
        url = self.cleaned_data.get("url", "").strip()
        if url:
            try:
                URLValidator(schemes=["https"])(url)
            except forms.ValidationError:
                raise forms.ValidationError("Enter a valid https:// address.") from None
        return url

    def clean_host(self) -> str:
        host = self.cleaned_data.get("host", "").strip()
        if host and not _valid_host(host):
            raise forms.ValidationError("Enter a host name or an IP address.")
        return host

    def clean_port(self):
        port = self.cleaned_data.get("port")
        if port is not None and not 1 <= port <= 65535:
            raise forms.ValidationError("Enter a port from 1 to 65535.")
        return port

    def clean_max_attempts(self):
        attempts = self.cleaned_data.get("max_attempts")
        if attempts is None or not 1 <= attempts <= 100:
            raise forms.ValidationError("Enter a number from 1 to 100.")
        return attempts

    def clean_ca_file(self) -> str:
        path = self.cleaned_data.get("ca_file", "").strip()
        if not path:
            return ""
        if not Path(path).is_absolute():
            raise forms.ValidationError("Enter the absolute path of the CA file.")
        if not Path(path).is_file():
            raise forms.ValidationError("There is no such file on the portal's server.")
        try:
            ssl.create_default_context(cafile=path)
        except (ssl.SSLError, OSError, ValueError):
            raise forms.ValidationError("The file could not be read as PEM CA certificates.") from None
        return path

    def clean(self):
        data = super().clean()
        kind = data.get("kind")
        if kind in _HTTP_KINDS:
            self._require(data, "url", "Enter the https:// address to send to.")
            if kind == StreamKind.SPLUNK_HEC and not (data.get("token") or (
                    self.instance.token and not data.get("clear_token"))):
                self.add_error("token", "Enter the HEC token.")
        elif kind == StreamKind.SYSLOG:
            self._require(data, "host", "Enter the syslog receiver's host.")
            self._require(data, "port", "Enter the syslog receiver's TCP port.")
            if data.get("ca_file") and not data.get("tls"):
                self.add_error("ca_file", "A CA file is used only with TLS: turn on Use TLS or leave it empty.")
        elif kind == StreamKind.FILE and self._require(data, "path", "Enter a file name."):
            try:
                file_path(data["path"])
            except ValueError as exc:
                self.add_error("path", str(exc))
        return data

    def _require(self, data: dict, name: str, message: str) -> bool:
        if data.get(name) in (None, "") and name not in self.errors:
            self.add_error(name, message)
            return False
        return name not in self.errors

    def save(self, commit: bool = True) -> StreamDestination:
        destination = super().save(commit=False)
        if self.cleaned_data.get("clear_token"):
            destination.token = None
        if self.cleaned_data.get("token"):
            destination.token = self.cleaned_data["token"]
        if commit:
            destination.save()
        return destination


def _valid_host(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
        return True
    except ValueError:
        return bool(_HOSTNAME.match(host))
