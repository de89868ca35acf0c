"""Creating, changing and deleting users: the required properties, the
verified-domain and uniqueness rules, and the real error bodies."""

from __future__ import annotations

import pytest

PASSWORD = "Xy7!secure-Passw0rd"


@pytest.fixture(autouse=True)
def demo_tenant(graph_emulator):
    graph_emulator.reset("demo")


def new_user(**overrides) -> dict:
    body = {
        "accountEnabled": True, "displayName": "Nestor Wilke", "mailNickname": "nestorw",
        "userPrincipalName": "nestor.wilke@contoso.com",
        "passwordProfile": {"forceChangePasswordNextSignIn": True, "password": PASSWORD},
        "givenName": "Nestor", "surname": "Wilke", "department": "Operations", "jobTitle": "Director",
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


def test_it_creates_a_user(graph_emulator):
    answer = graph_emulator.graph("POST", "/v1.0/users", json=new_user())

    assert answer.status_code == 201
    user = answer.json()
    assert user["@odata.context"].endswith("/v1.0/$metadata#users/$entity")
    assert user["userPrincipalName"] == "nestor.wilke@contoso.com"
    assert user["displayName"] == "Nestor Wilke" and user["id"]
    assert "passwordProfile" not in user
    assert answer.headers["Location"].endswith(f"/directoryObjects/{user['id']}/Microsoft.DirectoryServices.User")
    stored = graph_emulator.graph(
        "GET", f"/v1.0/users/{user['id']}?$select=department,accountEnabled,passwordProfile").json()
    assert stored["department"] == "Operations"
    assert stored["accountEnabled"] is True
    assert stored["passwordProfile"]["password"] is None
    assert graph_emulator.state()["users"] == 201


@pytest.mark.parametrize("missing", ["accountEnabled", "displayName", "mailNickname", "passwordProfile",
                                     "userPrincipalName"])
def test_it_requires_the_five_properties(graph_emulator, missing):
    answer = graph_emulator.graph("POST", "/v1.0/users", json=new_user(**{missing: None}))

    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["code"] == "Request_BadRequest"
    assert error["message"] == f"Property {missing} value is required but is empty or missing."


def test_it_refuses_an_unverified_domain(graph_emulator):
    answer = graph_emulator.graph("POST", "/v1.0/users", json=new_user(userPrincipalName="nestor@fabrikam.com"))

    assert answer.status_code == 400
    assert answer.json()["error"]["message"] == (
        "The domain portion of the userPrincipalName property is invalid. You must use one of the verified domain "
        "names in your organization.")


def test_it_refuses_a_taken_user_principal_name(graph_emulator):
    answer = graph_emulator.graph("POST", "/v1.0/users", json=new_user(userPrincipalName="Adele.Vance@contoso.com"))

    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["message"] == "Another object with the same value for property userPrincipalName already exists."
    assert error["details"][0]["code"] == "ObjectConflict"
    assert error["details"][0]["target"] == "userPrincipalName"


def test_it_refuses_a_weak_password(graph_emulator):
    answer = graph_emulator.graph("POST", "/v1.0/users",
                                  json=new_user(passwordProfile={"password": "password"}))

    assert answer.status_code == 400
    assert answer.json()["error"]["message"].startswith(
        "The specified password does not comply with password complexity requirements.")


def test_it_refuses_unknown_and_read_only_properties(graph_emulator):
    unknown = graph_emulator.graph("POST", "/v1.0/users", json=new_user(favouriteColour="blue"))
    read_only = graph_emulator.graph("POST", "/v1.0/users", json=new_user(createdDateTime="2020-01-01T00:00:00Z"))

    assert unknown.status_code == 400
    assert unknown.json()["error"]["message"] == \
        "Property 'favouriteColour' does not exist as a declared property or extension property."
    assert read_only.status_code == 400
    assert read_only.json()["error"]["message"] == "Property 'createdDateTime' is read-only and cannot be set."


def test_it_updates_and_disables_a_user(graph_emulator):
    answer = graph_emulator.graph("PATCH", "/v1.0/users/alex.wilber@contoso.com",
                                  json={"jobTitle": "Head of Marketing", "accountEnabled": False})

    assert answer.status_code == 204
    assert answer.text == ""
    user = graph_emulator.graph("GET", "/v1.0/users/alex.wilber@contoso.com?$select=jobTitle,accountEnabled").json()
    assert user["jobTitle"] == "Head of Marketing"
    assert user["accountEnabled"] is False


def test_it_renames_a_user_principal_name(graph_emulator):
    graph_emulator.graph("PATCH", "/v1.0/users/megan.bowen@contoso.com",
                         json={"userPrincipalName": "megan.b@contoso.com"})

    assert graph_emulator.graph("GET", "/v1.0/users/megan.b@contoso.com").status_code == 200
    assert graph_emulator.graph("GET", "/v1.0/users/megan.bowen@contoso.com").status_code == 404


def test_it_soft_deletes_a_user(graph_emulator):
    answer = graph_emulator.graph("DELETE", "/v1.0/users/lynne.robbins@contoso.com")

    assert answer.status_code == 204
    assert graph_emulator.graph("GET", "/v1.0/users/lynne.robbins@contoso.com").status_code == 404
    assert graph_emulator.state()["deleted_users"] == 4


def test_it_refuses_an_empty_body(graph_emulator):
    answer = graph_emulator.graph("POST", "/v1.0/users", data="", headers={"Content-Type": "application/json"})

    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "BadRequest"
