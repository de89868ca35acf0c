"""Named people for the tests, as in a small IT team:

- ``root``: a superuser (acts as an administrator);
- ``alice``: a Provisioning administrator;
- ``bob``: a Provisioning reader;
- ``charlie``: signed in, but with no role.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from provisioning.constants import ADMINISTRATORS_GROUP, READERS_GROUP
from provisioning.models import Application

PASSWORD = "correct-horse-battery-staple"


def make_user(django_user_model, name: str, *, group: str | None = None, superuser: bool = False):
    from allauth.account.models import EmailAddress

    email = f"{name}@example.org"
    if superuser:
        user = django_user_model.objects.create_superuser(username=email, email=email, password=PASSWORD)
    else:
        user = django_user_model.objects.create_user(username=email, email=email, password=PASSWORD)
    if group:
        # get_or_create: transactional tests flush the rows the data migration made.
        user.groups.add(Group.objects.get_or_create(name=group)[0])
    EmailAddress.objects.create(user=user, email=email, primary=True, verified=True)
    return user


@pytest.fixture
def root(django_user_model):
    return make_user(django_user_model, "root", superuser=True)


@pytest.fixture
def alice(django_user_model):
    return make_user(django_user_model, "alice", group=ADMINISTRATORS_GROUP)


@pytest.fixture
def bob(django_user_model):
    return make_user(django_user_model, "bob", group=READERS_GROUP)


@pytest.fixture
def charlie(django_user_model):
    return make_user(django_user_model, "charlie")


@pytest.fixture
def application(db):
    from provisioning.defaults import create_job

    app = Application.objects.create(display_name="Dropbox for Business", app_id="app-id",
                                     service_principal_id="00000000-0000-0000-0000-00000000aaaa")
    create_job(app)
    return app


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice)
    return client


@pytest.fixture
def bob_client(client, bob):
    client.force_login(bob)
    return client
