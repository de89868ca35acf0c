"""Browser tests: Debian's Chromium driven by Playwright against the live server.

Every page a test opens is watched for Content-Security-Policy violations: a
test that caused one fails when it ends, with the violations listed.

Screenshots go to a temporary folder, or to tests/e2e/screenshots (the ones the
README shows) when SAVE_SCREENSHOTS=1."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import require
from tests.fixtures import PASSWORD

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"

# Playwright's sync API keeps an event loop in this thread; the ORM calls the
# tests make between browser steps are still plain synchronous calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def browser():
    require(os.path.exists(CHROMIUM) and shutil.which("chromium") is not None, "Chromium (/usr/bin/chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - requirements.txt installs it
        require(False, "Playwright")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
            ],
        )
        yield browser
        browser.close()


# Runs in every document before its own scripts, whatever its policy says, and
# hands each violation to the test through a binding.
_REPORT_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", function (event) {
  window.__portalCspViolation({
    page: document.location.href, directive: event.effectiveDirective, blocked: event.blockedURI,
    source: event.sourceFile + ":" + event.lineNumber, sample: event.sample,
  });
}, true);
"""

_violations: dict[int, list[dict]] = {}


def csp_violations(page) -> list[dict]:
    """The Content-Security-Policy violations the page's documents reported so far."""
    return _violations[id(page)]


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(viewport={"width": 1366, "height": 860}, base_url=live_server.url)
    context.set_default_timeout(15_000)
    reported: list[dict] = []
    context.expose_binding("__portalCspViolation", lambda source, violation: reported.append(violation))
    context.add_init_script(_REPORT_CSP_VIOLATIONS)
    page = context.new_page()
    _violations[id(page)] = reported
    yield page
    context.close()
    del _violations[id(page)]
    assert not reported, "the Content-Security-Policy was violated:\n" + "\n".join(map(str, reported))


def record_heartbeats() -> None:
    """What a running worker and beat leave behind, as fresh as with `make run`: the top bar shows
    both Running for the next 50 seconds."""
    from django.utils import timezone
    from django_celery_beat.models import PeriodicTask

    from provisioning.models import ServiceHeartbeat
    from provisioning.schedules import HEARTBEAT_TASK_NAME, ensure_periodic_tasks

    ensure_periodic_tasks()
    ServiceHeartbeat.objects.update_or_create(name="worker", defaults={"last_seen": timezone.now()})
    PeriodicTask.objects.filter(name=HEARTBEAT_TASK_NAME).update(last_run_at=timezone.now())


@pytest.fixture
def heartbeats(db):
    """For tests whose screenshots show the top bar: the worker and the scheduler as `make run` has
    them, alive."""
    record_heartbeats()


@pytest.fixture
def screenshot(tmp_path):
    """screenshot(page, "name") saves a PNG; kept in the repository only when asked."""
    folder = SCREENSHOTS if os.environ.get("SAVE_SCREENSHOTS") == "1" else tmp_path
    folder.mkdir(parents=True, exist_ok=True)

    def take(page, name: str, full_page: bool = True) -> Path:
        path = folder / f"{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        return path

    return take


def sign_in(page, user, password: str = PASSWORD) -> None:
    page.goto("/accounts/login/")
    page.fill("#id_login", user.email)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_url("**/enterprise-applications/")
