"""Sign in with Microsoft against the Graph emulator's real sign-in page: the portal (Django's
test client) starts the sign-in, a plain HTTP client plays the browser on the emulator's page,
and the portal's callback gets the code back, as in production."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest
import requests
from django.urls import reverse

from emulators.graph.catalog import PORTAL_ROLE_ADMINISTRATOR, PORTAL_ROLE_READER


@pytest.fixture
def entra(settings, services):
    """Sign-in with Microsoft switched on, with the portal's own app registration."""
    graph = services[0]
    settings.ENTRA_SIGN_IN = True
    settings.ENTRA_SIGN_IN_CLIENT_ID = graph.client_id
    settings.ENTRA_SIGN_IN_CLIENT_SECRET = graph.client_secret
    settings.ENTRA_GROUP_ROLES = {}
    settings.ENTRA_ROLE_REFRESH_SECONDS = 900
    return graph


def portal_sp(graph) -> dict:
    return graph.graph("GET", f"/v1.0/servicePrincipals?$filter=appId eq '{graph.client_id}'").json()["value"][0]


def grant(graph, principal_id: str, role: str = "administrator") -> dict:
    sp = portal_sp(graph)
    role_id = PORTAL_ROLE_ADMINISTRATOR if role == "administrator" else PORTAL_ROLE_READER
    answer = graph.graph("POST", f"/v1.0/servicePrincipals/{sp['id']}/appRoleAssignedTo",
                         json={"principalId": principal_id, "resourceId": sp["id"], "appRoleId": role_id})
    assert answer.status_code == 201, answer.text
    return answer.json()


def revoke(graph, assignment: dict) -> None:
    sp = portal_sp(graph)
    assert graph.graph("DELETE", f"/v1.0/servicePrincipals/{sp['id']}/appRoleAssignedTo/{assignment['id']}"
                       ).status_code == 204


def user_id(graph, upn: str) -> str:
    return graph.graph("GET", f"/v1.0/users/{upn}").json()["id"]


class SignIn:
    """One sign-in: start at the portal, sign in on the emulator's page, come back."""

    def __init__(self, client, graph):
        self.client, self.graph = client, graph
        self.browser = requests.Session()

    def start(self) -> str:
        answer = self.client.post(reverse("entra_login"))
        assert answer.status_code == 302, answer.content[:500]
        return answer["Location"]

    def at_microsoft(self, authorize_url: str, upn: str, password: str | None = None) -> requests.Response:
        page = self.browser.get(authorize_url, allow_redirects=False)
        assert page.status_code == 200, page.text[:500]
        context = re.search(r'name="ctx" value="([^"]+)"', page.text).group(1)
        action = re.search(r'<form method="post" action="([^"]+)"', page.text).group(1)
        return self.browser.post(f"{self.graph.url}{action}", allow_redirects=False, data={
            "ctx": context, "login": upn, "passwd": password or self.graph.user_password})

    def back(self, answer: requests.Response):
        assert answer.status_code == 302, answer.text[:500]
        location = urlsplit(answer.headers["Location"])
        self.callback = f"{location.path}?{location.query}"
        return self.client.get(self.callback)

    def __call__(self, upn: str, **kwargs):
        return self.back(self.at_microsoft(self.start(), upn, **kwargs))


def with_query(url: str, **changes) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query.update(changes)
    return urlunsplit(parts._replace(query=urlencode(query)))


@pytest.fixture
def sign_in(client, entra):
    return SignIn(client, entra)
