"""The headers every page is sent with: a strict Content-Security-Policy (its
form-action allowing the Dropbox sign-in pages that Authorize leads to), no
framing, no sniffing; and templates and scripts that the policy lets work as
they are (nothing inline, nothing evaluated)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

ROOT = Path(__file__).resolve().parents[2]


def directives(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    return {name: values for name, *values in (part.split() for part in policy.split(";") if part.strip())}


@pytest.fixture
def pages(application):
    app = application.pk
    return [
        reverse("portal:applications"), reverse("portal:gallery"),
        reverse("portal:overview", args=[app]), reverse("portal:provisioning", args=[app]),
        reverse("portal:attribute_mappings", args=[app, "user"]), reverse("portal:provisioning_logs", args=[app]),
        reverse("portal:audit_logs"), reverse("portal:portal_users"), reverse("mfa_index"),
        "/applications/00000000-0000-0000-0000-000000000000/",  # not found
    ]


@pytest.mark.django_db
def test_every_page_has_the_strict_policy(alice_client, pages, settings):
    settings.DROPBOX_WEB_URL = "https://www.dropbox.com"
    for url in [reverse("account_login"), *pages]:
        response = (alice_client if url in pages else Client()).get(url)
        assert response.status_code in (200, 404), url
        policy = directives(response)
        assert policy["default-src"] == ["'self'"], url
        assert policy["script-src"] == ["'self'"] and policy["style-src"] == ["'self'"], url
        assert policy["img-src"] == ["'self'", "data:"] and policy["object-src"] == ["'none'"], url
        assert policy["frame-ancestors"] == ["'none'"] and policy["base-uri"] == ["'none'"], url
        assert policy["form-action"] == ["'self'", "https://www.dropbox.com"], url
        assert "unsafe" not in response["Content-Security-Policy"], url
        assert response["X-Frame-Options"] == "DENY" and response["X-Content-Type-Options"] == "nosniff", url
        assert response["Referrer-Policy"] == "same-origin", url


@pytest.mark.django_db
def test_forms_may_lead_to_the_dropbox_sign_in_the_settings_name(alice_client, application, settings):
    settings.DROPBOX_WEB_URL = "http://127.0.0.1:8102/"
    response = alice_client.get(reverse("portal:provisioning", args=[application.pk]))
    assert directives(response)["form-action"] == ["'self'", "http://127.0.0.1:8102"]


def _templates() -> list[Path]:
    return sorted((ROOT / "templates").rglob("*.html"))


def test_no_template_has_inline_scripts_styles_or_event_handlers():
    offenders = []
    for path in _templates():
        text = path.read_text()
        for tag in re.findall(r"<script\b[^>]*>", text):
            if "src=" not in tag and 'type="application/json"' not in tag:
                offenders.append(f"{path.name}: {tag}")
        offenders += [f"{path.name}: {m}" for m in re.findall(r"<[^>]*\sstyle=[^>]*>", text)]
        offenders += [f"{path.name}: {m}" for m in re.findall(r"<[^>]*\son[a-z]+=[^>]*>", text)]
        offenders += [f"{path.name}: javascript: URL" for _ in re.findall(r"javascript:", text, re.I)]
    assert offenders == []


def test_no_script_evaluates_strings_or_writes_style_attributes():
    for path in sorted((ROOT / "static").rglob("*.js")):
        text = path.read_text()
        assert not re.search(r"\beval\(|new Function\(|setTimeout\(\s*[\"']|setAttribute\(\s*[\"']style", text), path
