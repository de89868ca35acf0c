"""Enterprise applications | Add: a name the form refuses comes back as a form
error on the gallery, with the Add dialog open again and nothing created, in
development (DEBUG) and in production alike."""

from __future__ import annotations

import pytest
from django.urls import reverse

from provisioning.models import Application

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("debug", [False, True], ids=["production", "debug"])
@pytest.mark.parametrize("name, message", [
    ("", "Give the application a name."),
    ("    ", "Give the application a name."),
    ("x" * 121, "The name can have at most 120 characters (it has 121)."),
    ("x" * 10240, "The name can have at most 120 characters (it has 10240)."),
], ids=["blank", "spaces", "121 characters", "10 KB"])
def test_it_refuses_a_bad_name_as_a_form_error(alice_client, settings, debug, name, message):
    settings.DEBUG = debug
    response = alice_client.post(reverse("portal:gallery_add"), {"gallery_app": "dropbox-business",
                                                                 "display_name": name})
    assert response.status_code == 400
    page = response.content.decode()
    assert f"The application was not added. Name: {message}" in page
    assert '<dialog id="add-dropbox-business" aria-labelledby="add-dropbox-business-title" data-open-on-load>' in page
    assert f'<ul class="errorlist" id="name-dropbox-business-error"><li>{message}</li></ul>' in page
    assert 'aria-invalid="true" aria-describedby="name-dropbox-business-error"' in page
    assert not Application.objects.exists()


def test_it_refuses_an_application_that_is_not_in_the_gallery(alice_client):
    response = alice_client.post(reverse("portal:gallery_add"), {"gallery_app": "nothing-like-it", "display_name": "X"})
    assert response.status_code == 400
    assert "The application was not added. This application is not in the gallery." in response.content.decode()
    assert not Application.objects.exists()
