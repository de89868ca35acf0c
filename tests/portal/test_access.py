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
              "preview_id": 999999, "run_id": 999999, "discovery_id": 999999, "target": "dropbox",
              "grant_id": 999999, "destination_id": 999999, "entry_id": 999999, "token_id": 999999,
              "number": 999999}
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


#: pages of the signed-in person's own things, which a reader may change too (tests/api/test_token_page.py)
SELF_SERVICE = {"portal:api_tokens", "portal:revoke_api_token"}


def test_it_refuses_every_change_to_a_reader(bob_client, application, alice):
    for name, params in _portal_patterns():
        if name in SELF_SERVICE:
            continue
        url = _url(name, params, application, alice)
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


# ---------------------------------------------------------------- roles on one application

#: what a role on one application never opens, even on that application: giving roles is for the global
#: administrators
ROLE_CHANGES = {"portal:add_role", "portal:remove_role"}
#: the pages that list only what one may see
LISTS = {"portal:home", "portal:applications"}
#: POST data that no form accepts in full, so that the walk changes as little as it can
JUNK = {"display_name": "", "role": "not-a-role", "gallery_app": "not-an-app"}


def _grant(user, application, role):
    from portal.accounts.models import ApplicationRoleGrant

    return ApplicationRoleGrant.objects.create(user=user, application=application, role=role, granted_by="test")


@pytest.fixture
def other_application(db):
    from provisioning.defaults import create_job
    from provisioning.models import Application

    app = Application.objects.create(display_name="Dropbox (Finance team)", app_id="app-id-b",
                                     service_principal_id="00000000-0000-0000-0000-00000000bbbb")
    create_job(app)
    return app


@pytest.fixture
def dana(django_user_model, application):
    """An application administrator of ``application`` only."""
    from tests.fixtures import make_user

    user = make_user(django_user_model, "dana")
    _grant(user, application, "administrator")
    return user


@pytest.fixture
def erin(django_user_model, application):
    """An application reader of ``application`` only."""
    from tests.fixtures import make_user

    user = make_user(django_user_model, "erin")
    _grant(user, application, "reader")
    return user


def _client(user):
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client


def _with_names(application, user):
    return [(name, _url(name, params, application, user), "app_id" in params) for name, params in _portal_patterns()]


def _status(client, method: str, url: str) -> int:
    """The status of one request, with whatever it changed rolled back, so that every URL is tried on the
    same state (a POST to Delete does not take the application away from the next URL)."""
    from django.db import transaction

    class Undo(Exception):
        pass

    status = None
    try:
        with transaction.atomic():
            response = client.post(url, JUNK) if method == "POST" else client.get(url)
            status = response.status_code
            raise Undo
    except Undo:
        pass
    return status


def test_a_role_on_one_application_opens_nothing_of_another(dana, erin, application, other_application):
    for user in (dana, erin):
        client = _client(user)
        for name, url, per_application in _with_names(other_application, user):
            if name in LISTS or name in SELF_SERVICE:
                continue
            answers = {method: _status(client, method, url) for method in ("GET", "POST")}
            # 405 is the method a URL does not take; the one it takes must be refused.
            assert set(answers.values()) <= {403, 404, 405} and set(answers.values()) != {405}, \
                f"{user.email} on {url}: {answers}"


def test_a_role_on_one_application_lists_only_that_application(dana, erin, application, other_application):
    for user in (dana, erin):
        page = _client(user).get(reverse("portal:applications")).content.decode()
        assert application.display_name in page, user.email
        assert other_application.display_name not in page, user.email
        assert 'id="add-application"' not in page


def test_an_application_reader_has_a_readers_rights_on_that_application(erin, bob, application, alice, services):
    reader, application_reader = _client(bob), _client(erin)
    for name, url, per_application in _with_names(application, alice):
        if not per_application:
            continue
        for method in ("GET", "POST"):
            expected, got = _status(reader, method, url), _status(application_reader, method, url)
            assert got == expected, f"{method} {url}: a reader has {expected}, an application reader {got}"
            if method == "POST":
                assert got in (403, 405), f"{url} answered {got} to an application reader's POST"


def test_an_application_administrator_has_an_administrators_rights_on_that_application(
        dana, alice, application, services):
    administrator, application_administrator = _client(alice), _client(dana)
    changes_let_through = 0
    for name, url, per_application in _with_names(application, alice):
        if not per_application:
            continue
        for method in ("GET", "POST"):
            got = _status(application_administrator, method, url)
            if name in ROLE_CHANGES and method == "POST":
                assert got == 403, f"{url}: an application administrator gave roles ({got})"
                continue
            expected = _status(administrator, method, url)
            assert got == expected, f"{method} {url}: an administrator has {expected}, an application " \
                                    f"administrator {got}"
            changes_let_through += method == "POST" and got not in (403, 405)
    # Guards against comparing refusals with refusals: most changes reach their form or run.
    assert changes_let_through >= 15, changes_let_through


def test_roles_on_one_application_keep_the_portal_wide_pages_closed(dana, erin, application, alice):
    for user in (dana, erin):
        client = _client(user)
        for name, url, per_application in _with_names(application, alice):
            if per_application or name in LISTS or name in SELF_SERVICE:
                continue
            answers = {method: _status(client, method, url) for method in ("GET", "POST")}
            assert set(answers.values()) <= {403, 405} and set(answers.values()) != {405}, \
                f"{user.email} on {url}: {answers}"


def test_the_walk_reaches_the_roles_pages(application, alice):
    names = {name for name, _, _ in _with_names(application, alice)}
    assert {"portal:roles", "portal:add_role", "portal:remove_role"} <= names


def _api_routes(application):
    """(method, path) of every route of the API, with the application's ids."""
    from portal.api.urls import urlpatterns

    job = application.job
    for pattern in urlpatterns:
        route = str(pattern.pattern)
        if route.startswith("^") or route in ("docs/",):
            continue
        path = "/api/v1.0/" + route.replace("<str:sp_id>", application.service_principal_id).replace(
            "<str:job_id>", job.job_id).replace("<int:number>", "1")
        writes = route.endswith(("start", "pause", "restart", "provisionOnDemand", "validateCredentials", "restore"))
        yield ("POST" if writes else "GET"), path
        if route.endswith(("schema", "configuration")):
            yield "PUT", path


def test_it_walks_every_api_route_as_every_role(client, application, alice, bob, charlie):
    from datetime import timedelta

    from django.utils import timezone

    from portal.api.models import ApiToken

    def token(user, scope):
        return ApiToken.issue(user, name="walk", scope=scope, expires_at=timezone.now() + timedelta(days=1))[1]

    from portal.api.versions import record_version

    record_version(application.pk, reason="Created")
    routes = list(_api_routes(application))
    assert len(routes) >= 17
    callers = {"anonymous": None, "charlie": token(charlie, "read_write"), "bob": token(bob, "read_write"),
               "alice read-only": token(alice, "read")}
    for method, path in routes:
        for who, secret in callers.items():
            headers = {"HTTP_AUTHORIZATION": f"Bearer {secret}"} if secret else {}
            response = client.generic(method, path, "{}", content_type="application/json", **headers)
            if who == "anonymous":
                expected = {401}
            elif who == "charlie":
                expected = {403}
            elif method == "GET":
                expected = {200}
            else:  # a reader, or an administrator's read-only token: refused before anything is done
                expected = {403}
            assert response.status_code in expected, f"{who} {method} {path}: {response.status_code}"
            assert "error" in response.json() or response.status_code == 200
    application.job.refresh_from_db()
    assert not application.job.enabled and not application.job.stop_requested
