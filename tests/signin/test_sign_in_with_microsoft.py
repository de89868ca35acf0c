"""Sign in with Microsoft Entra ID end to end against the Graph emulator: roles from Entra at
sign-in and after the refresh interval, and every refused sign-in with its reason."""

from __future__ import annotations

import time
from urllib.parse import parse_qsl, urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from portal.entra import roles as entra_roles
from provisioning.constants import AuditActivity, AuditResult
from provisioning.models import AuditEvent

from .conftest import grant, revoke, user_id, with_query

pytestmark = pytest.mark.django_db

ADELE = "adele.vance@contoso.com"


def signed_in_user(client):
    return client.get(reverse("portal:applications")).wsgi_request.user


def refused(reason_part: str) -> AuditEvent:
    event = AuditEvent.objects.filter(activity=AuditActivity.SIGN_IN, result=AuditResult.FAILURE).latest("id")
    assert reason_part in event.detail, event.detail
    return event


def test_the_sign_in_request_has_pkce_state_and_nonce(sign_in):
    url = sign_in.start()
    query = dict(parse_qsl(urlsplit(url).query))
    assert url.startswith(f"{sign_in.graph.url}/{sign_in.graph.tenant_id}/oauth2/v2.0/authorize?")
    assert query["client_id"] == sign_in.graph.client_id
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) >= 43
    assert len(query["state"]) >= 12 and len(query["nonce"]) >= 32
    assert sorted(query["scope"].split()) == ["email", "openid", "profile"]
    assert query["redirect_uri"] == "http://testserver/accounts/entra/login/callback/"


def test_an_administrator_by_app_role_lands_on_all_applications(sign_in, client, entra):
    grant(entra, user_id(entra, ADELE), "administrator")

    answer = sign_in(ADELE)

    assert answer.status_code == 302 and answer["Location"] == reverse("portal:applications")
    page = client.get(answer["Location"])
    assert page.status_code == 200
    assert "All applications" in page.content.decode()
    user = page.wsgi_request.user
    assert user.email == ADELE and not user.has_usable_password()
    assert entra_roles.current_roles(user) == {"administrator"}
    assert AuditEvent.objects.filter(activity=AuditActivity.SIGN_IN, result=AuditResult.SUCCESS,
                                     actor=user).exists()
    change = AuditEvent.objects.get(activity=AuditActivity.UPDATE_ROLES_FROM_ENTRA, actor=user)
    assert (change.before, change.after) == ({"roles": []}, {"roles": ["administrator"]})


def test_a_reader_through_a_group_assignment_and_a_mapped_group(sign_in, client, entra, settings):
    groups = {g["displayName"]: g["id"] for g in entra.get_all("/v1.0/groups?$select=id,displayName")}
    member_groups = {g["id"] for g in entra.get_all(f"/v1.0/users/{ADELE}/transitiveMemberOf?$select=id")}
    group = next(gid for gid in groups.values() if gid in member_groups)
    grant(entra, group, "reader")

    sign_in(ADELE)
    assert entra_roles.current_roles(signed_in_user(client)) == {"reader"}

    client.logout()
    settings.ENTRA_GROUP_ROLES = {group: "administrator"}
    sign_in(ADELE)
    assert entra_roles.current_roles(signed_in_user(client)) == {"administrator", "reader"}


def test_a_person_without_a_role_is_told_whom_to_ask(sign_in, client, entra, settings, alice):
    settings.ACCESS_CONTACT = "the IT service desk (x1234)"
    sign_in(ADELE)

    page = client.get(reverse("portal:applications"))

    assert page.status_code == 403
    text = page.content.decode()
    assert f"You are signed in as {ADELE}, but you have no role in the portal." in text
    assert "Ask the IT service desk (x1234)" in text
    assert "Provisioning.Administrator" in text and "Provisioning.Reader" in text


def test_a_removed_role_is_gone_after_the_refresh_interval(sign_in, client, entra, settings):
    assignment = grant(entra, user_id(entra, ADELE), "administrator")
    sign_in(ADELE)
    assert client.get(reverse("portal:applications")).status_code == 200
    revoke(entra, assignment)

    assert client.get(reverse("portal:applications")).status_code == 200  # still inside the interval
    session = client.session
    session[entra_roles.SESSION_CHECKED] = time.time() - settings.ENTRA_ROLE_REFRESH_SECONDS - 1
    session.save()

    assert client.get(reverse("portal:applications")).status_code == 403
    user = get_user_model().objects.get(email=ADELE)
    assert entra_roles.current_roles(user) == set()
    change = AuditEvent.objects.filter(activity=AuditActivity.UPDATE_ROLES_FROM_ENTRA, actor=user).latest("id")
    assert change.after == {"roles": []} and "refresh interval" in change.detail


def test_a_disabled_person_is_signed_out_at_the_refresh_and_cannot_sign_in_again(sign_in, client, entra, settings):
    grant(entra, user_id(entra, ADELE), "administrator")
    sign_in(ADELE)
    entra.graph("PATCH", f"/v1.0/users/{ADELE}", json={"accountEnabled": False})
    session = client.session
    session[entra_roles.SESSION_CHECKED] = 0
    session.save()

    answer = client.get(reverse("portal:applications"))

    assert answer.status_code == 302 and answer["Location"].startswith(reverse("account_login"))
    assert not client.get(reverse("account_login")).wsgi_request.user.is_authenticated
    ended = AuditEvent.objects.get(activity=AuditActivity.END_SESSION)
    assert ended.detail == "Session ended: The account is disabled in Microsoft Entra ID."
    page = sign_in.at_microsoft(sign_in.start(), ADELE)
    assert page.status_code == 200 and "Your account has been locked." in page.text


def test_a_forged_state_is_refused(sign_in, client, entra):
    answer = sign_in.at_microsoft(sign_in.start(), ADELE)
    location = urlsplit(answer.headers["Location"])
    forged = with_query(f"{location.path}?{location.query}", state="forged-state-value")

    page = client.get(forged)

    assert page.status_code == 401 and "Sign-in failed" in page.content.decode()
    assert "The sign-in answer was not valid (a forged, expired or already used state)." in page.content.decode()
    assert not page.wsgi_request.user.is_authenticated
    refused("a forged, expired or already used state")


def test_a_replayed_answer_is_refused(sign_in, client, entra):
    grant(entra, user_id(entra, ADELE), "administrator")
    sign_in(ADELE)
    client.logout()

    again = client.get(sign_in.callback)

    assert again.status_code == 401 and "Sign-in failed" in again.content.decode()
    assert not again.wsgi_request.user.is_authenticated
    refused("already used state")


def test_an_answer_for_another_nonce_is_refused(sign_in, client, entra):
    authorize = with_query(sign_in.start(), nonce="not-the-portals-nonce")

    page = sign_in.back(sign_in.at_microsoft(authorize, ADELE))

    assert "Sign-in failed" in page.content.decode()
    assert not page.wsgi_request.user.is_authenticated
    refused("its nonce differs")


def test_an_error_from_microsoft_is_audited_with_its_reason(sign_in, client, entra):
    state = dict(parse_qsl(urlsplit(sign_in.start()).query))["state"]

    page = client.get(reverse("entra_callback"), {"state": state, "error": "access_denied",
                                                  "error_description": "AADSTS50105: not assigned"})

    assert "Sign-in failed" in page.content.decode()
    refused("AADSTS50105: not assigned")


def test_groups_overage_reads_the_groups_from_graph(sign_in, client, entra, settings):
    uid = user_id(entra, ADELE)
    made = []
    for n in range(201):
        answer = entra.graph("POST", "/v1.0/groups", json={
            "displayName": f"Overage {n}", "mailEnabled": False, "mailNickname": f"overage{n}",
            "securityEnabled": True, "members@odata.bind": [f"https://graph.microsoft.com/v1.0/directoryObjects/{uid}"]})
        assert answer.status_code == 201, answer.text
        made.append(answer.json()["id"])
    settings.ENTRA_GROUP_ROLES = {made[-1]: "reader"}

    sign_in(ADELE)

    user = signed_in_user(client)
    claims = user.socialaccount_set.get().extra_data["id_token"]
    assert "groups" not in claims and claims["_claim_names"] == {"groups": "src1"}
    assert entra_roles.current_roles(user) == {"reader"}


def test_a_superuser_cannot_sign_in_with_microsoft(sign_in, client, entra, django_user_model):
    django_user_model.objects.create_superuser("adele", ADELE, "a-long-password-1")

    page = sign_in(ADELE)

    assert "Sign-in failed" in page.content.decode()
    assert not page.wsgi_request.user.is_authenticated
    refused("A superuser signs in with the portal's own password only.")


def test_a_local_account_with_the_same_name_is_the_same_person(sign_in, client, entra, django_user_model):
    local = django_user_model.objects.create_user("adele", ADELE, "a-long-password-1")
    grant(entra, user_id(entra, ADELE), "reader")

    sign_in(ADELE)

    user = signed_in_user(client)
    assert user.pk == local.pk
    assert entra_roles.current_roles(user) == {"reader"}
