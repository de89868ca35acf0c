"""Engine tests run cycles the way production does: a real Celery worker
process (fixtures ``engine_worker`` and ``run_cycle`` in tests/services.py)
runs ``provisioning.tasks.run_job`` against the emulators, and the tests look
at the Dropbox team and the logs through the oracles below."""

from __future__ import annotations

from provisioning.constants import DEFAULT_ACCESS_ROLE_ID


# ---------------------------------------------------------------------------- oracles
def expected_in_scope(graph, sp_id: str) -> dict[str, dict]:
    """The users a correct cycle provisions, worked out from Graph independently of the engine:
    enabled users assigned directly or through a group's direct membership, with a real role."""
    users = {u["id"]: u for u in graph.get_all(
        "/v1.0/users?$select=id,userPrincipalName,accountEnabled,givenName,surname,displayName&$top=999")}
    in_scope: set[str] = set()
    for assignment in graph.get_all(f"/v1.0/servicePrincipals/{sp_id}/appRoleAssignedTo"):
        if assignment["appRoleId"] == DEFAULT_ACCESS_ROLE_ID:
            continue
        if assignment["principalType"] == "User":
            in_scope.add(assignment["principalId"])
        elif assignment["principalType"] == "Group":
            for member in graph.get_all(f"/v1.0/groups/{assignment['principalId']}/members?$select=id"):
                if member.get("@odata.type", "").endswith("user"):
                    in_scope.add(member["id"])
    return {users[u]["userPrincipalName"].lower(): users[u] for u in in_scope
            if u in users and users[u].get("accountEnabled", True)}


def team(dbx) -> dict[str, dict]:
    """The Dropbox team's members that are not removed, by email."""
    return {m["email"].lower(): m for m in dbx.state()["members"] if m["status"] != "removed"}


def write_calls(dbx) -> dict[str, int]:
    reads = ("list", "get_info", "job_status", "get_authenticated_admin", "get_available")
    return {route: n for route, n in dbx.stats()["requests"].items()
            if route.startswith("POST /2/team/") and not any(r in route for r in reads)}
