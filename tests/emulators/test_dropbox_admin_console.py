"""The admin console's Members page, which shows a person watching the demo
(or a browser test) the team as provisioning changes it."""

from __future__ import annotations

from html.parser import HTMLParser

import requests
from dropbox import team as T


class _Rows(HTMLParser):
    def __init__(self):
        super().__init__()
        self.rows: list[list[str]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.rows.append([])
        elif tag == "td":
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None:
            self.rows[-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def rows(emulator) -> list[list[str]]:
    answer = requests.get(f"{emulator.url}/team/admin/members")
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("text/html")
    parser = _Rows()
    parser.feed(answer.text)
    return [row for row in parser.rows if row]


def test_it_lists_every_member_with_name_email_status_role_and_external_id(emulator):
    table = rows(emulator)

    assert table[0] == ["Dana Admin", "admin@contoso.com", "Active", "Team admin", ""]
    assert ["Lynne Robbins", "lynne.robbins@contoso.com", "Suspended", "Member", ""] in table
    assert len(table) == 8


def test_it_shows_the_changes_provisioning_makes(emulator):
    dbx = emulator.team_client()
    dbx.team_members_add_v2([T.MemberAddV2Arg("new.hire@contoso.com", "New", "Hire", member_external_id="aad-1")])
    dbx.team_members_suspend(T.UserSelectorArg.email("alex.wilber@contoso.com"))

    table = rows(emulator)

    assert ["New Hire", "new.hire@contoso.com", "Invited", "Member", "aad-1"] in table
    assert ["Alex Wilber", "alex.wilber@contoso.com", "Suspended", "Member", ""] in table


def test_it_shows_the_first_thousand_members_of_a_large_team(emulator):
    emulator.reset("bulk:1200")

    table = rows(emulator)
    page = requests.get(f"{emulator.url}/team/admin/members").text

    assert len(table) == 1000
    assert "showing the first 1000 of 1208" in page
