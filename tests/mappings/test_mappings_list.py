"""Tutorial step 11: under Mappings, the two mappings with their Enabled state,
each opening its Attribute Mappings page."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from .conftest import page_url, text

pytestmark = pytest.mark.django_db

USERS_TITLE = "Synchronize Azure Active Directory Users to Dropbox for Business"
GROUPS_TITLE = "Synchronize Azure Active Directory Groups to Dropbox for Business"


def mappings_rows(html: str) -> list[tuple[str, str]]:
    section = html[html.index('id="mappings-list"'):]
    section = section[: section.index("</table>")]
    return re.findall(r'<a href="[^"]+">([^<]+)</a></td>\s*<td>(Yes|No)</td>', section)


def test_the_provisioning_page_lists_both_mappings_with_their_enabled_state(alice_client, application, groups_mapping):
    groups_mapping.enabled = False
    groups_mapping.save()
    html = text(alice_client.get(reverse("portal:provisioning", args=[application.pk])))
    assert '<details class="section" open id="mappings">' in html
    assert "<summary>Mappings</summary>" in html
    assert mappings_rows(html) == [(USERS_TITLE, "Yes"), (GROUPS_TITLE, "No")]


def test_the_mappings_section_sits_between_admin_credentials_and_settings(alice_client, application):
    html = text(alice_client.get(reverse("portal:provisioning", args=[application.pk])))
    assert html.index('id="admin-credentials"') < html.index('id="mappings"') < html.index('id="settings"')


def test_each_mapping_links_to_its_attribute_mappings_page(alice_client, application, users_mapping, groups_mapping):
    html = text(alice_client.get(reverse("portal:provisioning", args=[application.pk])))
    assert f'<a href="{page_url(users_mapping)}">{USERS_TITLE}</a>' in html
    assert f'<a href="{page_url(groups_mapping)}">{GROUPS_TITLE}</a>' in html
    page = alice_client.get(page_url(users_mapping))
    assert page.status_code == 200
    assert USERS_TITLE in text(page)


def test_the_mappings_list_has_a_page_of_its_own(bob_client, application):
    response = bob_client.get(reverse("portal:mappings", args=[application.pk]))
    assert response.status_code == 200
    assert [title for title, _ in mappings_rows(text(response))] == [USERS_TITLE, GROUPS_TITLE]


def test_an_unknown_object_type_is_not_found(alice_client, application):
    for object_type in ("contact", "users", "User"):
        url = reverse("portal:attribute_mappings", args=[application.pk, object_type])
        assert alice_client.get(url).status_code == 404, object_type
        assert alice_client.post(url, {}).status_code == 404, object_type
