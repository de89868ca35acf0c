"""Go through the emulator's sign-in and consent pages without a browser.

For tests and scripts that need an authorization code the way an admin gets
one: open the authorize URL, fill in the sign-in form, press "Allow" (or
"Cancel"), and stop at the redirect back to the app::

    answer = sign_in_and_decide(session, flow.start(), "admin@contoso.com", password)
    answer.headers["Location"]   # https://portal.example/callback?code=...&state=...

``session`` is any ``requests.Session`` that reaches the emulator (for the
https://www.dropbox.com URLs the SDK builds, one that routes them there).
"""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urljoin

import requests


class _Forms(HTMLParser):
    """The forms of a page: action, and the fields a browser would send."""

    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []
        self.buttons: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append({"action": attrs.get("action", ""), "fields": {}})
        elif not self.forms:
            return
        elif tag == "input" and attrs.get("name"):
            self.forms[-1]["fields"][attrs["name"]] = attrs.get("value", "")
        elif tag == "button" and attrs.get("name"):
            self.buttons.append((attrs["name"], attrs.get("value", ""), ""))

    def handle_data(self, data):
        # Buttons are pressed by their label ("Allow", "Cancel").
        if self.buttons and self.buttons[-1][2] == "" and data.strip():
            name, value, _ = self.buttons[-1]
            self.buttons[-1] = (name, value, data.strip())


def _forms(html: str) -> tuple[list[dict], list[tuple[str, str, str]]]:
    parser = _Forms()
    parser.feed(html)
    return parser.forms, parser.buttons


class SignInRefused(Exception):
    """The emulator did not show the page that was expected next (wrong password, bad request...)."""

    def __init__(self, response: requests.Response):
        super().__init__(f"{response.status_code} at {response.url}")
        self.response = response


def sign_in(session: requests.Session, authorize_url: str, email: str, password: str) -> requests.Response:
    """Open ``authorize_url`` and submit the sign-in form; returns the consent page."""
    page = session.get(authorize_url, timeout=30)
    forms, _ = _forms(page.text)
    if page.status_code != 200 or not forms:
        raise SignInRefused(page)
    form = forms[0]
    fields = dict(form["fields"], login_email=email, login_password=password)
    consent = session.post(urljoin(page.url, form["action"]), data=fields, allow_redirects=False, timeout=30)
    consent_forms, _ = _forms(consent.text)
    if consent.status_code != 200 or not consent_forms or "ticket" not in consent_forms[0]["fields"]:
        raise SignInRefused(consent)
    return consent


def decide(session: requests.Session, consent: requests.Response, button: str = "Allow") -> requests.Response:
    """Press a button ("Allow" or "Cancel") on the consent page; returns the answer
    without following its redirect (``Location`` holds the app's callback URL)."""
    forms, buttons = _forms(consent.text)
    form = forms[0]
    fields = dict(form["fields"])
    for name, value, label in buttons:
        if label == button:
            fields[name] = value
            break
    else:
        raise ValueError(f"no button {button!r} on the consent page")
    return session.post(urljoin(consent.url, form["action"]), data=fields, allow_redirects=False, timeout=30)


def sign_in_and_decide(
    session: requests.Session, authorize_url: str, email: str, password: str, button: str = "Allow",
) -> requests.Response:
    return decide(session, sign_in(session, authorize_url, email, password), button)
