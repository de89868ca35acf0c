"""The strict Content-Security-Policy in a real browser: every page, after a real
cycle, loads with the policy in its header and without one violation (the
``page`` fixture listens to ``securitypolicyviolation`` in every document);
and the policy does block what it forbids."""

from __future__ import annotations

import pytest

from .conftest import csp_violations, sign_in
from .walk import Walk, after_a_cycle, every_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def policy_problems(documents: dict[str, str]):
    """A check for the walk: the page's document came with the policy, and nothing violated it."""

    def check(page) -> str:
        problems = []
        policy = documents.get(page.url)
        if policy is None:
            problems.append("no Content-Security-Policy header")
        elif "script-src 'self'" not in policy or "'unsafe-inline'" in policy or "'unsafe-eval'" in policy:
            problems.append(f"not the strict policy: {policy}")
        reported = csp_violations(page)
        problems += [f"violated: {violation}" for violation in reported]
        reported.clear()  # reported here, with the page that caused them
        return "\n".join(problems)

    return check


@pytest.mark.worker
def test_every_page_loads_under_the_policy_without_a_violation(page, alice, job, run_cycle, settings, tmp_path):
    after_a_cycle(job, run_cycle, settings, tmp_path)
    documents: dict[str, str] = {}

    def remember(response):
        if response.request.resource_type == "document":
            documents[response.url] = response.headers.get("content-security-policy")

    page.on("response", remember)
    walk = Walk(page, policy_problems(documents))
    every_page(walk, job, alice)
    assert not walk.failures, f"{len(walk.failures)} of {len(walk.checked)} pages:\n{walk.report()}"
    assert len(walk.checked) >= 39, walk.checked


def test_the_policy_blocks_inline_scripts_and_styles(page, alice):
    sign_in(page, alice)
    page.evaluate("""() => {
        document.body.insertAdjacentHTML("beforeend", '<div id="styled" style="color: red">x</div>');
        const script = document.createElement("script");
        script.textContent = "window.ranInline = true";
        document.body.appendChild(script);
    }""")
    assert page.evaluate("() => window.ranInline === undefined")
    assert page.evaluate("() => getComputedStyle(document.getElementById('styled')).color") != "rgb(255, 0, 0)"
    reported = csp_violations(page)
    page.wait_for_timeout(100)  # the reports are events, dispatched after the page's own task
    assert {violation["directive"] for violation in reported} == {"style-src-attr", "script-src-elem"}
    reported.clear()
