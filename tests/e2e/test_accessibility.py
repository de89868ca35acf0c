"""Every page of the portal, as an administrator sees it after a real cycle:
axe-core finds no critical or serious violation of the WCAG 2.1 A and AA
rules, no control has an icon glyph in its name, and every ARIA reference
(help texts, labels, controlled panels) leads to an element of the page."""

from __future__ import annotations

import re
import unicodedata

import pytest

from .walk import Walk, after_a_cycle, every_page

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

#: axe-core's rules for WCAG 2.0 and 2.1, levels A and AA.
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = ("critical", "serious")


def axe_violations(page) -> list[dict]:
    """The critical and serious WCAG 2.1 A/AA violations axe-core finds on the page as it is now."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": WCAG_21_AA},
                                       "resultTypes": ["violations"]})
    return [v for v in results.response["violations"] if v["impact"] in BLOCKING]


# Roles whose accessible name a screen reader says when the control is reached.
_NAMED = re.compile(r'^\s*- (button|link|tab|menuitem|radio|checkbox|switch|option) "((?:[^"\\]|\\.)*)"', re.M)


def glyphs_in_names(page) -> list[dict]:
    """Controls whose accessible name contains an icon glyph ("check mark Save")."""
    found = []
    for role, name in _NAMED.findall(page.locator("body").aria_snapshot()):
        glyphs = [ch for ch in name if unicodedata.category(ch) in ("So", "Sm") or ch in "\u2039\u203a\u00ab\u00bb"]
        if glyphs:
            found.append({"id": "glyph-in-name", "impact": "serious", "help": "An icon glyph is part of a name",
                          "nodes": [{"target": [role], "html": name,
                                     "failureSummary": "say: " + ", ".join(unicodedata.name(g, g) for g in glyphs)}]})
    return found


def broken_references(page) -> list[dict]:
    """aria-describedby, aria-labelledby and aria-controls that name an id the page does not have."""
    missing = page.evaluate("""() => {
        const out = [];
        for (const attr of ["aria-describedby", "aria-labelledby", "aria-controls"]) {
            for (const el of document.querySelectorAll("[" + attr + "]")) {
                for (const id of el.getAttribute(attr).split(/\\s+/).filter(Boolean)) {
                    if (!document.getElementById(id)) out.push({attr, id, html: el.outerHTML.slice(0, 160)});
                }
            }
        }
        return out;
    }""")
    return [{"id": "broken-reference", "impact": "serious", "help": "A reference to an element that is not there",
             "nodes": [{"target": [m["attr"]], "html": m["html"], "failureSummary": f"no element with id {m['id']}"}]}
            for m in missing]


def describe(violations: list[dict]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"  {violation['id']} ({violation['impact']}): {violation['help']}")
        for node in violation["nodes"][:5]:
            lines.append(f"      {' '.join(node['target'])}: {node['failureSummary'].splitlines()[-1].strip()}")
            lines.append(f"        {node['html'][:160]}")
    return "\n".join(lines)


def accessibility_problems(page) -> str:
    return describe(axe_violations(page) + glyphs_in_names(page) + broken_references(page))


def test_every_page_meets_wcag_21_aa_after_a_cycle(page, alice, job, run_cycle, settings, tmp_path):
    after_a_cycle(job, run_cycle, settings, tmp_path)
    walk = Walk(page, accessibility_problems)
    every_page(walk, job, alice)
    assert not walk.failures, f"critical or serious accessibility violations on {len(walk.failures)} of " \
                              f"{len(walk.checked)} pages:\n{walk.report()}"
    assert len(walk.checked) >= 39, walk.checked
