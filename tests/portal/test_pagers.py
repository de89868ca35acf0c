"""The pagers of Object links and Account discovery keep the filters and reach the next page."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.urls import reverse

from provisioning.models import AccountDiscovery, DiscoveredAccount, ObjectLink

pytestmark = pytest.mark.django_db


def next_href(html: str) -> str:
    found = re.search(r'<a class="btn" href="([^"]+)">Next', html)
    assert found, "no Next link"
    return unescape(found.group(1))


def test_the_links_pager_keeps_the_filters(alice_client, application):
    ObjectLink.objects.bulk_create([ObjectLink(job=application.job, object_type="user", source_id=f"u{i:03}",
                                               target_id=f"t{i}", display_name=f"Bob {i:03}") for i in range(130)])
    url = reverse("portal:links", args=[application.pk])
    first = alice_client.get(url, {"type": "user", "q": "Bob"}).content.decode()
    href = next_href(first)
    assert href == "?type=user&state=&q=Bob&page=2"
    second = alice_client.get(url + href).content.decode()
    assert second.count('<tr data-source-id="') == 30 and "Page 2 of 2" in second


def test_the_discovery_pager_keeps_the_category(alice_client, application):
    record = AccountDiscovery.objects.create(job=application.job, status="done", counts={"orphan": 150})
    DiscoveredAccount.objects.bulk_create([DiscoveredAccount(discovery=record, category="orphan", target_id=f"t{i}",
                                                             email=f"o{i:03}@contoso.com") for i in range(150)])
    url = reverse("portal:discovery", args=[application.pk, record.pk])
    href = next_href(alice_client.get(url, {"category": "orphan", "q": "@contoso"}).content.decode())
    assert href == "?category=orphan&q=%40contoso&page=2"
    assert alice_client.get(url + href).content.decode().count("<tr data-email=") == 50
