"""Provisioning page, tutorial steps 3 to 10: Provisioning Mode, Authorize
(through the Dropbox emulator's real sign-in and consent pages), Test
Connection, Notification Email, Save."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import pytest
from django.db import connection
from django.test import Client, override_settings
from django.urls import reverse

from emulators.dropbox.signin import sign_in_and_decide
from provisioning.audit import REDACTED_CHANGED
from provisioning.constants import AuditActivity
from provisioning.models import AuditEvent, ProvisioningJob

pytestmark = pytest.mark.django_db
HOST = "127.0.0.1:8000"


@pytest.fixture
def admin_client(alice):
    client = Client(HTTP_HOST=HOST)
    client.force_login(alice)
    return client


def form_data(job) -> dict:
    """What the browser posts: every field of the page as it stands."""
    from portal.forms import ProvisioningForm

    form = ProvisioningForm(instance=job)
    data = {}
    for name, field in form.fields.items():
        value = form.initial.get(name, field.initial)
        if isinstance(value, bool) and name != "enabled":
            if value:
                data[name] = "on"
        elif value is not None:
            data[name] = str(value)
    return data


def save(client, application, **data):
    job = ProvisioningJob.objects.get(application=application)
    fields = {**form_data(job), "mode": "automatic", "action": "save"}
    fields.update(data)
    if fields.get("notify_on_failure") is False:
        fields.pop("notify_on_failure")
    return client.post(reverse("portal:provisioning_save", args=[application.pk]), fields)


def start_authorize(client, application):
    response = save(client, application, action="authorize")
    assert response.status_code == 302
    return response["Location"]


def come_back(client, dbx, authorize_url: str, *, email=None, password=None, button="Allow"):
    """Sign in at the emulator as a browser would, and follow Dropbox's redirect back to the portal."""
    answer = sign_in_and_decide(dbx.session(), authorize_url, email or dbx.admin_email,
                                password or dbx.admin_password, button)
    callback = urlsplit(answer.headers["Location"])
    assert callback.netloc == HOST and callback.path == reverse("portal:oauth_callback", args=["dropbox"])
    return client.get(callback.path, dict(parse_qsl(callback.query)), follow=True)


def page_text(response) -> str:
    return response.content.decode()


def stored_token_column(job) -> str | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT target_refresh_token FROM provisioning_provisioningjob WHERE id = %s", [job.pk])
        return cursor.fetchone()[0]


def test_it_saves_the_mode_and_the_notification_email_with_an_audit_event(admin_client, application):
    response = save(admin_client, application, notification_email="IT-Alerts@Contoso.com", notify_on_failure="on")
    assert response.status_code == 302
    job = ProvisioningJob.objects.get(application=application)
    assert (job.mode, job.notification_email, job.notify_on_failure) == ("automatic", "it-alerts@contoso.com", True)
    event = AuditEvent.objects.get(activity=AuditActivity.UPDATE_SETTINGS)
    assert event.before["mode"] == "Manual" and event.after["mode"] == "Automatic"
    assert event.after["notification_email"] == "it-alerts@contoso.com"


def test_it_refuses_an_invalid_notification_email_next_to_the_field(admin_client, application):
    response = save(admin_client, application, notification_email="not-an-email", notify_on_failure="on")
    assert response.status_code == 400
    assert "Enter a valid email address." in page_text(response)
    assert ProvisioningJob.objects.get(application=application).mode == "manual"


def test_the_checkbox_needs_an_address(admin_client, application):
    response = save(admin_client, application, notify_on_failure="on")
    assert response.status_code == 400
    assert "Enter the email address that should receive failure notifications." in page_text(response)


def test_the_page_warns_before_leaving_with_unsaved_changes(admin_client, application):
    page = page_text(admin_client.get(reverse("portal:provisioning", args=[application.pk])))
    assert 'id="provisioning-form" data-warn-unsaved' in page


def test_authorize_stores_an_encrypted_refresh_token_and_says_who(admin_client, application, services):
    _, dbx = services
    url = start_authorize(admin_client, application)
    assert url.startswith(dbx.url + "/oauth2/authorize?")
    query = dict(parse_qsl(urlsplit(url).query))
    assert query["token_access_type"] == "offline" and query["code_challenge_method"] == "S256"
    assert query["state"].endswith("|" + str(application.pk))

    response = come_back(admin_client, dbx, url)
    assert "Authorized as admin@contoso.com for team Contoso" in page_text(response)
    job = ProvisioningJob.objects.get(application=application)
    assert job.is_authorized and job.target_admin_email == "admin@contoso.com"
    raw = stored_token_column(job)
    assert raw.startswith("fernet:") and job.target_refresh_token not in raw
    event = AuditEvent.objects.filter(detail="Authorized against Dropbox").get()
    assert event.after["refresh_token"] == REDACTED_CHANGED
    assert job.target_refresh_token not in str(event.after) + str(event.before)


def test_cancel_ends_on_the_page_with_nothing_stored(admin_client, application, services):
    _, dbx = services
    url = start_authorize(admin_client, application)
    response = come_back(admin_client, dbx, url, button="Cancel")
    assert "Authorization was cancelled in Dropbox. Nothing was stored." in page_text(response)
    assert not ProvisioningJob.objects.get(application=application).is_authorized


def test_a_forged_state_is_refused(admin_client, application, services):
    _, dbx = services
    url = start_authorize(admin_client, application)
    answer = sign_in_and_decide(dbx.session(), url, dbx.admin_email, dbx.admin_password)
    query = dict(parse_qsl(urlsplit(answer.headers["Location"]).query))
    query["state"] = "forged-csrf-token-value-xxxxxxxxxxxxxxx|" + str(application.pk)
    response = admin_client.get(reverse("portal:oauth_callback", args=["dropbox"]), query, follow=True)
    assert "did not match the one this session started" in page_text(response)
    assert not ProvisioningJob.objects.get(application=application).is_authorized


def test_a_replayed_answer_is_refused(admin_client, application, services):
    _, dbx = services
    url = start_authorize(admin_client, application)
    answer = sign_in_and_decide(dbx.session(), url, dbx.admin_email, dbx.admin_password)
    callback = urlsplit(answer.headers["Location"])
    admin_client.get(callback.path, dict(parse_qsl(callback.query)))
    job = ProvisioningJob.objects.get(application=application)
    first_token = job.target_refresh_token
    response = admin_client.get(callback.path, dict(parse_qsl(callback.query)), follow=True)
    assert "does not belong to an authorization started in your session" in page_text(response)
    job.refresh_from_db()
    assert job.target_refresh_token == first_token


def test_an_answer_from_another_session_is_refused(admin_client, application, services, bob, alice):
    _, dbx = services
    url = start_authorize(admin_client, application)
    answer = sign_in_and_decide(dbx.session(), url, dbx.admin_email, dbx.admin_password)
    callback = urlsplit(answer.headers["Location"])
    other = Client(HTTP_HOST=HOST)
    other.force_login(alice)  # the same person, another browser: not the session that started it
    response = other.get(callback.path, dict(parse_qsl(callback.query)), follow=True)
    assert "Nothing was stored" in page_text(response)
    assert not ProvisioningJob.objects.get(application=application).is_authorized


def test_an_exchange_error_stores_nothing(admin_client, application, services, settings):
    _, dbx = services
    url = start_authorize(admin_client, application)
    settings.DROPBOX_APP_KEY = "another-app"  # the code was issued to a different client
    response = come_back(admin_client, dbx, url)
    assert "Dropbox did not complete the authorization" in page_text(response)
    assert "Nothing was stored." in page_text(response)
    assert not ProvisioningJob.objects.get(application=application).is_authorized


def test_test_connection_succeeds_for_a_team_admin(admin_client, application, services):
    _, dbx = services
    come_back(admin_client, dbx, start_authorize(admin_client, application))
    response = save(admin_client, application, action="test")
    page = page_text(admin_client.get(response["Location"]))
    assert "The supplied credentials are authorized to enable provisioning" in page
    assert ProvisioningJob.objects.get(application=application).connection_ok is True


def test_test_connection_before_authorizing_says_what_to_do(admin_client, application, services):
    response = save(admin_client, application, action="test")
    page = page_text(admin_client.get(response["Location"]))
    assert "The portal is not authorized against Dropbox yet." in page
    assert "Select Authorize" in page


def test_test_connection_names_a_non_admin_account(admin_client, application, services):
    _, dbx = services
    url = start_authorize(admin_client, application)
    response = come_back(admin_client, dbx, url, email=dbx.member_email, password=dbx.member_password)
    assert "Authorized, but the team could not be read" in page_text(response)
    response = save(admin_client, application, action="test")
    page = page_text(admin_client.get(response["Location"]))
    assert "is not a Dropbox team admin" in page
    assert "Team Admin permissions" in page


def test_test_connection_reports_a_revoked_authorization(admin_client, application, services):
    _, dbx = services
    come_back(admin_client, dbx, start_authorize(admin_client, application))
    dbx.control("POST", "tokens/revoke", {})
    response = save(admin_client, application, action="test")
    page = page_text(admin_client.get(response["Location"]))
    assert "The Dropbox authorization was revoked or has expired." in page


def test_test_connection_without_the_portal_s_dropbox_app_key_says_what_to_set(admin_client, application, services):
    _, dbx = services
    come_back(admin_client, dbx, start_authorize(admin_client, application))
    before = ProvisioningJob.objects.get(application=application)
    with override_settings(DROPBOX_APP_KEY=""):
        response = save(admin_client, application, action="test")
        assert response.status_code == 302
        page = page_text(admin_client.get(response["Location"]))
    assert "The Dropbox app key is not configured" in page
    assert "DROPBOX_APP_KEY" in page
    after = ProvisioningJob.objects.get(application=application)
    assert (after.connection_checked_at, after.connection_ok, after.connection_message) == \
        (before.connection_checked_at, before.connection_ok, before.connection_message), "nothing was recorded"
    assert after.target_refresh_token == before.target_refresh_token


@override_settings(DROPBOX_APP_KEY="")
def test_authorize_without_the_portal_s_dropbox_app_key_says_what_to_set(admin_client, application):
    response = save(admin_client, application, action="authorize")
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:provisioning", args=[application.pk]), "it stays in the portal"
    page = page_text(admin_client.get(response["Location"]))
    assert "The Dropbox app key is not configured" in page
    assert "DROPBOX_APP_KEY" in page
    assert not ProvisioningJob.objects.get(application=application).is_authorized


def test_test_connection_reports_an_unreachable_team(admin_client, application, services, settings, no_waiting):
    _, dbx = services
    come_back(admin_client, dbx, start_authorize(admin_client, application))
    settings.DROPBOX_API_URL = "http://127.0.0.1:9"  # nothing listens there
    response = save(admin_client, application, action="test")
    page = page_text(admin_client.get(response["Location"]))
    assert "The Dropbox team could not be reached" in page
    assert no_waiting == [1.0, 2.0, 4.0], "the connection was tried again, with a growing pause"


