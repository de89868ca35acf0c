"""Microsoft's tutorial with the keyboard only (Tab, Shift+Tab, Enter, Space and
the arrow keys), from Add to Provisioning Status On: every stop of the focus
shows where the focus is (the pixels around the focused control change when it
has the focus); and the tabs of a log's details follow the ARIA tabs pattern."""

from __future__ import annotations

import time

import pytest

from provisioning.constants import CycleStatus
from provisioning.models import Application, ProvisioningJob, SyncCycle
from tests.fixtures import PASSWORD
from tests.logs.factory import make_logs

from .test_tutorial import unassigned

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The box around the focused control (or the label of a visually hidden one), a little wider for
# a focus ring drawn outside it, in viewport coordinates.
_FOCUS_BOX = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  let box = el.getBoundingClientRect();
  if (box.width < 4 || box.height < 4) {
    const label = el.closest("label") || (el.labels && el.labels[0]);
    if (label) box = label.getBoundingClientRect();
  }
  const x = Math.max(0, box.left - 6), y = Math.max(0, box.top - 6);
  return {
    clip: {x, y, width: Math.min(window.innerWidth, box.right + 6) - x,
           height: Math.min(window.innerHeight, box.bottom + 6) - y},
    name: el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + " " +
          (el.getAttribute("aria-label") || el.innerText || el.value || "").trim().slice(0, 60),
  };
}"""


class KeyboardUser:
    """Drives the page with key presses only, and checks at every stop that the focus is visible."""

    def __init__(self, page):
        self.page = page
        self.stops: list[str] = []

    def focused(self, selector: str) -> bool:
        return self.page.evaluate("s => !!document.activeElement && document.activeElement.matches(s)", selector)

    def assert_focus_visible(self) -> None:
        focus = self.page.evaluate(_FOCUS_BOX)
        if focus is None:
            return  # the document itself: between the last control and the first
        self.stops.append(focus["name"])
        assert focus["clip"]["width"] > 0 and focus["clip"]["height"] > 0, f"{focus['name']} is off screen"
        with_focus = self.page.screenshot(clip=focus["clip"], animations="disabled")
        self.page.evaluate("() => { window.__focused = document.activeElement; window.__focused.blur(); }")
        without_focus = self.page.screenshot(clip=focus["clip"], animations="disabled")
        self.page.evaluate("() => window.__focused.focus({preventScroll: true})")
        assert with_focus != without_focus, f"the focus on {focus['name']} changes no pixel"

    def press(self, key: str, check: bool = True) -> None:
        self.page.keyboard.press(key)
        if check:
            self.assert_focus_visible()

    def type(self, text: str) -> None:
        self.page.keyboard.type(text)

    def tab_to(self, selector: str, *, back: bool = False, check: bool = True, limit: int = 80) -> None:
        for _ in range(limit):
            self.press("Shift+Tab" if back else "Tab", check=check)
            if self.focused(selector):
                return
        raise AssertionError(f"{selector} never had the focus; the last stops: {self.stops[-12:]}")

    def skip_to_content(self) -> None:
        """The first Tab of a page reaches the skip link; Enter moves past the top bar and the menu."""
        self.press("Tab")
        assert self.focused("a.skip-link"), self.stops[-1]
        self.press("Enter", check=False)
        assert self.focused("main")

    def choose(self, selector: str, read: str, wanted: str, key: str = "ArrowDown") -> None:
        """Arrow keys on a focused select or radio group until ``read`` (JS of the element) says ``wanted``."""
        for _ in range(8):
            if self.page.eval_on_selector(selector, read) == wanted:
                return
            self.press(key)
        raise AssertionError(f"{selector} never became {wanted}")


def wait_for_the_cycle(job: ProvisioningJob, timeout: float = 120) -> None:
    """The worker finishes the initial cycle before the test's data is removed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        finished = SyncCycle.objects.filter(job=job).exclude(status=CycleStatus.RUNNING).exists()
        if finished and not ProvisioningJob.objects.filter(pk=job.pk).exclude(lease_owner="").exists():
            return
        time.sleep(0.2)
    raise AssertionError("the initial cycle did not finish")


@pytest.mark.worker
def test_the_tutorial_from_add_to_provisioning_status_on_with_the_keyboard_only(page, alice, services, demo_sp,
                                                                                  engine_worker):
    graph, dbx = services
    user, _ = unassigned(demo_sp["id"])
    keys = KeyboardUser(page)

    page.goto("/accounts/login/")
    assert keys.focused("#id_login")
    keys.type(alice.email)
    keys.tab_to("#id_password")
    keys.type(PASSWORD)
    keys.press("Enter", check=False)
    page.wait_for_url("**/enterprise-applications/")

    # Enterprise applications › All applications › Add, the gallery, Dropbox for Business, Create.
    keys.skip_to_content()
    keys.tab_to("#add-application")
    keys.press("Enter", check=False)
    page.wait_for_url("**/gallery/")
    keys.skip_to_content()
    keys.tab_to("#gallery-search")
    with page.expect_response(lambda response: "q=Dropbox" in response.url):
        keys.type("Dropbox")
    page.wait_for_selector("#gallery-tiles:not([aria-busy]) [data-gallery-app=dropbox-business]")
    keys.tab_to("[data-gallery-app=dropbox-business]")
    keys.press("Enter")
    page.wait_for_selector("dialog[open]")
    assert keys.focused("dialog[open] input[name=display_name]")  # the dialog takes the focus
    keys.assert_focus_visible()
    keys.press("Enter", check=False)
    page.wait_for_selector("text=Dropbox for Business was added.")
    application = Application.objects.get()

    # Users and groups › Add user/group: search, Select, the User role, Assign.
    keys.tab_to(".blade-menu a[href$='/users-and-groups/']")
    keys.press("Enter", check=False)
    page.wait_for_selector("h1:has-text('Users and groups')")
    keys.skip_to_content()
    keys.tab_to("#add-assignment")
    keys.press("Enter", check=False)
    page.wait_for_url("**/users-and-groups/add/")
    keys.skip_to_content()
    keys.tab_to("#directory-search")
    keys.type(user["displayName"][:5])
    choice = f"#directory-results [data-principal-name='{user['displayName']}']"
    page.wait_for_selector(choice)
    keys.tab_to(choice)
    keys.press("Enter")
    assert page.inner_text("#selected-principal") == f"{user['displayName']} (User)"
    keys.tab_to("#app-role")
    keys.choose("#app-role", "s => s.options[s.selectedIndex].text", "User")
    keys.tab_to("#assign")
    keys.press("Enter", check=False)
    page.wait_for_selector(f"text={user['displayName']} was assigned to {application.display_name} as User.")

    # Provisioning: Automatic, Authorize (the Dropbox sign-in and consent pages), Test Connection.
    keys.tab_to(".blade-menu a[href$='/provisioning/']")
    keys.press("Enter", check=False)
    page.wait_for_selector("#provisioning-form")
    keys.skip_to_content()
    keys.tab_to("#id_mode")
    keys.choose("#id_mode", "s => s.value", "automatic")
    assert page.locator("#admin-credentials").is_visible()
    keys.tab_to("#authorize")
    keys.press("Enter", check=False)
    page.wait_for_selector("#login_email")
    keys.tab_to("#login_email", check=False)  # the emulator's pages are not the portal's
    keys.type(dbx.admin_email)
    keys.tab_to("#login_password", check=False)
    keys.type(dbx.admin_password)
    keys.press("Enter", check=False)
    page.wait_for_selector("text=Sign in to Dropbox to link with Azure AD")
    keys.tab_to("button[value=allow]", check=False)
    keys.press("Enter", check=False)
    page.wait_for_url("**/provisioning/")
    assert "Authorized as admin@contoso.com" in page.inner_text("#authorization-status")
    keys.skip_to_content()
    keys.tab_to("#test-connection")
    keys.press("Enter", check=False)
    page.wait_for_selector("text=The supplied credentials are authorized to enable provisioning")

    # Notification Email, its checkbox (Space), Save (back up the page with Shift+Tab).
    keys.skip_to_content()
    keys.tab_to("#id_notification_email")
    keys.type("it-alerts@contoso.com")
    keys.tab_to("#id_notify_on_failure")
    keys.press("Space")
    assert page.is_checked("#id_notify_on_failure")
    keys.tab_to("#save", back=True)
    keys.press("Enter", check=False)
    page.wait_for_selector("text=Your changes were saved.")

    # Mappings: the users' Attribute Mappings, and back through the breadcrumb.
    keys.skip_to_content()
    keys.tab_to("#mappings-list a[href$='/mappings/user/']")
    keys.press("Enter", check=False)
    page.wait_for_selector("#attribute-mappings")
    assert "userPrincipalName" in page.inner_text("#attribute-mappings")
    keys.tab_to(".breadcrumb a[href$='/provisioning/']")
    keys.press("Enter", check=False)
    page.wait_for_selector("#provisioning-form")

    # Provisioning Status: Tab reaches the group on its checked button (Off), an arrow key chooses On.
    keys.skip_to_content()
    keys.tab_to("#field-enabled input[type=radio]")
    assert keys.focused("#field-enabled input[value=False]")
    keys.choose("#field-enabled input:focus", "r => r.parentElement.innerText.trim()", "On", key="ArrowLeft")
    assert page.is_checked("#field-enabled input[value=True]")
    keys.tab_to("#save", back=True)
    keys.press("Enter", check=False)
    page.wait_for_selector("text=Provisioning is On: the initial cycle is starting.")
    assert ProvisioningJob.objects.get(application=application).enabled
    assert len(keys.stops) > 40
    wait_for_the_cycle(application.job)


def test_the_tabs_of_a_logs_details_answer_the_arrow_keys(page, bob, application):
    from .conftest import sign_in

    [log] = make_logs(application.job, 1, status="Failure", error_code="DropboxLicenseLimit")
    sign_in(page, bob)
    page.goto(f"/applications/{application.pk}/provisioning-logs/{log.pk}/")
    keys = KeyboardUser(page)
    tablist = page.locator("[role=tablist]")
    assert tablist.get_attribute("aria-label") == "Activity details"
    tabs = tablist.locator("[role=tab]")
    assert tabs.all_inner_texts() == ["Steps", "Troubleshooting & Recommendations", "Modified Properties", "Summary"]
    keys.skip_to_content()
    keys.tab_to("[role=tab][aria-selected=true]")
    assert page.locator("[role=tab][tabindex='0']").count() == 1  # one stop for the whole tablist
    for expected in ["Troubleshooting & Recommendations", "Modified Properties", "Summary", "Steps"]:
        keys.press("ArrowRight")
        selected = page.locator("[role=tab][aria-selected=true]")
        assert selected.inner_text() == expected and keys.focused("[role=tab][aria-selected=true]")
        panel = page.locator(f"#{selected.get_attribute('aria-controls')}")
        assert panel.is_visible() and panel.get_attribute("role") == "tabpanel"
        assert panel.get_attribute("aria-labelledby") == selected.get_attribute("id")
        assert page.locator("[role=tabpanel]:visible").count() == 1
    keys.press("End")
    assert page.locator("[role=tab][aria-selected=true]").inner_text() == "Summary"
    keys.press("Home")
    assert page.locator("[role=tab][aria-selected=true]").inner_text() == "Steps"
    keys.press("ArrowLeft")
    assert page.locator("[role=tab][aria-selected=true]").inner_text() == "Summary"
    keys.press("Tab")
    assert keys.focused("#log-summary")  # Tab leaves the tablist for the panel
