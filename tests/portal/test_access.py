"""Access rules: anonymous visitors are sent to sign-in from every page; readers
see but cannot change; people without a role see nothing; CSRF is enforced;
there is no open sign-up."""

from __future__ import annotations

import uuid

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

pytestmark = pytest.mark.django_db

# URLs that must answer without a session (load balancers, sign-in itself).
PUBLIC = {"/healthz", "/readyz"}


def _portal_patterns():
    """(name, kwargs names) of every URL in the portal's own namespace."""
    for entry in get_resolver().url_patterns:
        if isinstance(entry, URLResolver) and entry.namespace == "portal":
            for pattern in entry.url_patterns:
                assert isinstance(pattern, URLPattern)
                yield f"portal:{pattern.name}", list(pattern.pattern.converters)


def _url(name: str, params: list[str], application, user) -> str:
    values = {"app_id": application.pk if application else uuid.uuid4(), "user_id": user.pk,
              "assignment_id": "an-assignment", "object_type": "user", "mapping_id": 999999, "log_id": 999999,
              "preview_id": 999999, "run_id": 999999, "discovery_id": 999999, "target": "dropbox"}
    return reverse(name, kwargs={key: values[key] for key in params})


def portal_urls(application, user) -> list[str]:
    return [_url(name, params, application, user) for name, params in _portal_patterns()]


def test_there_are_portal_urls_to_check(application, alice):
    # Guards the tests below against silently checking nothing.
    assert len(portal_urls(application, alice)) >= 15


def test_it_sends_anonymous_visitors_to_sign_in_from_every_page(client, application, alice):
    for url in portal_urls(application, alice):
        for method in (client.get, client.post):
            response = method(url)
            assert response.status_code == 302, url
            assert response["Location"].startswith(reverse("account_login") + "?next="), url


def test_it_lets_load_balancers_check_health_without_signing_in(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_it_refuses_every_change_to_a_reader(bob_client, application, alice):
    for url in portal_urls(application, alice):
        response = bob_client.post(url, {"display_name": "x", "role": "none", "gallery_app": "dropbox-business"})
        # 405: the page only shows data; 403: the change needs an administrator.
        assert response.status_code in (403, 405), f"{url} answered {response.status_code} to a reader's POST"


def test_it_names_the_missing_role_when_refusing_a_reader(bob_client):
    response = bob_client.post(reverse("portal:gallery_add"), {"gallery_app": "dropbox-business", "display_name": "x"})
    assert response.status_code == 403
    assert "Only Provisioning administrators can make this change." in response.content.decode()


def test_it_shows_readers_every_page_of_an_application(bob_client, application):
    for name in ("overview", "users_and_groups", "provisioning", "on_demand", "discovery_page", "provisioning_logs",
                 "app_audit_logs"):
        response = bob_client.get(reverse(f"portal:{name}", args=[application.pk]))
        assert response.status_code == 200, name
        assert application.display_name in response.content.decode()


def test_it_hides_the_add_button_from_readers_and_refuses_the_gallery(bob_client, application):
    page = bob_client.get(reverse("portal:applications")).content.decode()
    assert 'id="add-application"' not in page
    assert bob_client.get(reverse("portal:gallery")).status_code == 403


def test_it_shows_nothing_to_a_user_without_a_role(client, charlie, application, alice):
    client.force_login(charlie)
    for url in portal_urls(application, alice):
        response = client.get(url, follow=True)
        # 405 for the URLs that only take a POST (which would be refused too).
        assert response.status_code in (403, 405), url
        assert client.post(url).status_code in (403, 405), url


def test_it_lets_an_administrator_add_an_application(alice_client, services):
    response = alice_client.post(
        reverse("portal:gallery_add"), {"gallery_app": "dropbox-business", "display_name": "Dropbox (Sales team)"}
    )
    assert response.status_code == 302
    page = alice_client.get(response["Location"]).content.decode()
    assert "Dropbox (Sales team)" in page


def test_it_lets_a_superuser_act_as_administrator(client, root, services):
    client.force_login(root)
    response = client.post(reverse("portal:gallery_add"), {"gallery_app": "dropbox-business", "display_name": "D"})
    assert response.status_code == 302


def test_it_enforces_csrf_on_changes(alice, services):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    data = {"gallery_app": "dropbox-business", "display_name": "Dropbox"}
    assert client.post(reverse("portal:gallery_add"), data).status_code == 403

    client.get(reverse("portal:gallery"))
    data["csrfmiddlewaretoken"] = client.cookies["csrftoken"].value
    assert client.post(reverse("portal:gallery_add"), data).status_code == 302


def test_sign_up_is_closed(client, django_user_model):
    response = client.get(reverse("account_signup"))
    assert "Sign-up is closed" in response.content.decode()
    client.post(
        reverse("account_signup"),
        {"email": "mallory@example.org", "password1": "a-long-password-1", "password2": "a-long-password-1"},
    )
    assert not django_user_model.objects.filter(email="mallory@example.org").exists()


def test_it_signs_in_with_email_and_password(client, alice):
    from tests.fixtures import PASSWORD

    response = client.post(reverse("account_login"), {"login": alice.email, "password": PASSWORD})
    assert response.status_code == 302
    assert client.get(reverse("portal:applications")).status_code == 200


def test_it_rate_limits_failed_sign_ins(client, alice):
    for _ in range(5):
        response = client.post(reverse("account_login"), {"login": alice.email, "password": "wrong"})
        assert response.status_code == 200
    response = client.post(reverse("account_login"), {"login": alice.email, "password": "wrong"})
    assert response.status_code == 429 or "Too many failed login attempts" in response.content.decode()
