"""The tenants the emulator starts with: empty, the demo company and large
synthetic tenants, deterministic for a random seed."""

from __future__ import annotations


import pytest

from emulators.demo import DEMO_ADMIN, DEMO_NON_ADMIN, DEMO_SHARED, DROPBOX_FOR_BUSINESS_APP_ID
from emulators.graph import seed

DEFAULT_ACCESS = "00000000-0000-0000-0000-000000000000"


def test_every_seed_resets_through_the_control_route(graph_emulator):
    empty = graph_emulator.reset("empty")
    demo = graph_emulator.reset("demo")
    synthetic = graph_emulator.reset("synthetic:300")

    assert (empty["users"], empty["groups"], empty["service_principals"], empty["assignments"]) == (0, 0, 2, 0)
    assert (demo["users"], demo["deleted_users"], demo["groups"], demo["service_principals"]) == (200, 3, 15, 3)
    assert demo["assignments"] == 14 + 2  # Dropbox for Business's, and the portal's own two app roles
    assert (synthetic["users"], synthetic["groups"], synthetic["assignments"]) == (300, 3, 3)
    assert synthetic["seed"] == "synthetic:300"


def test_an_unknown_seed_is_refused(graph_emulator):
    import urllib.error

    with pytest.raises(urllib.error.HTTPError) as raised:
        graph_emulator.reset("galaxy")

    assert raised.value.code == 400
    assert "unknown seed" in raised.value.read().decode()


@pytest.fixture(scope="class")
def demo_company(graph_emulator):
    graph_emulator.reset("demo")


@pytest.mark.usefixtures("demo_company")
class TestTheDemoCompany:
    def test_it_has_the_shared_demo_people(self, graph_emulator):
        for person in [DEMO_ADMIN, DEMO_NON_ADMIN, *DEMO_SHARED]:
            user = graph_emulator.graph(
                "GET", f"/v1.0/users/{person['email']}?$select=userPrincipalName,mail,givenName,surname,"
                       "accountEnabled").json()
            assert user["userPrincipalName"] == person["email"]
            assert user["mail"] == person["email"]
            assert (user["givenName"], user["surname"]) == (person["given_name"], person["surname"])
            assert user["accountEnabled"] is True

    def test_it_reads_like_a_company(self, graph_emulator):
        users = graph_emulator.get_all(
            "/v1.0/users?$top=999&$select=displayName,jobTitle,department,employeeId,officeLocation,accountEnabled")

        assert len(users) == 200
        assert len({u["department"] for u in users}) == 10
        assert all(u["jobTitle"] and u["officeLocation"] and u["employeeId"] for u in users)
        assert len({u["employeeId"] for u in users}) == 200
        assert sum(1 for u in users if not u["accountEnabled"]) == 9

    def test_it_nests_department_groups_in_all_staff(self, graph_emulator):
        groups = {g["displayName"]: g for g in graph_emulator.get_all("/v1.0/groups")}
        members = graph_emulator.get_all(f"/v1.0/groups/{groups['All Staff']['id']}/members")

        assert len(groups) == 15
        assert {m["displayName"] for m in members} == {
            "Sales", "Marketing", "Retail", "Engineering", "Finance", "Human Resources", "Legal", "Operations",
            "IT", "Customer Support"}

    def test_it_assigns_dropbox_in_a_meaningful_mix(self, graph_emulator):
        sp = graph_emulator.graph(
            "GET", f"/v1.0/servicePrincipals?$filter=appId eq '{DROPBOX_FOR_BUSINESS_APP_ID}'").json()["value"][0]
        assignments = graph_emulator.get_all(f"/v1.0/servicePrincipals/{sp['id']}/appRoleAssignedTo")
        users = {u["id"]: u for u in graph_emulator.get_all("/v1.0/users?$top=999&$select=id,accountEnabled")}

        direct = [a for a in assignments if a["principalType"] == "User"]
        by_group = [a for a in assignments if a["principalType"] == "Group"]
        assert len(direct) >= 8 and len(by_group) == 3
        assert sum(1 for a in assignments if a["appRoleId"] == DEFAULT_ACCESS) >= 2
        assert any(not users[a["principalId"]]["accountEnabled"] for a in direct)
        assigned = {a["principalDisplayName"] for a in direct}
        assert {DEMO_ADMIN["given_name"] + " " + DEMO_ADMIN["surname"], "Adele Vance", "Lynne Robbins"} <= assigned


def test_the_demo_is_deterministic_for_a_random_seed():
    def fingerprint(random_seed: int) -> list:
        directory = seed.build("demo", tenant_id="t", client_id="c", random_seed=random_seed)
        return [(u.id, u.displayName, u.department, u.accountEnabled) for u in directory.users.values()]

    assert fingerprint(7) == fingerprint(7)
    assert fingerprint(7) != fingerprint(8)


def test_a_synthetic_tenant_of_200000_users_has_every_object():
    # How fast it is built is bench/graph_emulator_throughput.py's business (a timed test here failed
    # whenever the machine was busy).
    directory = seed.build("synthetic:200000", tenant_id="t", client_id="c", random_seed=1)

    assert len(directory.users) == 200000
    assert len(directory.groups) == 2000
    assert sum(len(members) for members in directory.members.values()) == 200000
    dropbox = directory.sps[directory.sp_by_app[DROPBOX_FOR_BUSINESS_APP_ID]]
    assert len(directory.assignments[dropbox.id]) == 2000


def test_object_ids_are_unique_across_users_groups_and_service_principals():
    # Two generators drawing from the same seed once gave users and groups the same ids:
    # deleting such a user removed its twin group's assignment too.
    directory = seed.build("synthetic:100000", tenant_id="t", client_id="c", random_seed=7)
    ids = [*directory.users, *directory.groups, *directory.sps]
    assert len(ids) == 100000 + 1000 + len(directory.sps)
    assert len(set(ids)) == len(ids)
    demo = seed.build("demo", tenant_id="t", client_id="c", random_seed=7)
    demo_ids = [*demo.users, *demo.groups, *demo.sps]
    assert len(set(demo_ids)) == len(demo_ids)
