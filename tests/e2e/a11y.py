"""Accessibility checks and screenshots for the browser tests.

``assert_accessible`` runs axe-core (bundled with axe-playwright-python, so no
network) on the page as it is and fails on every serious or critical
violation; ``assert_reflows`` checks WCAG 1.4.10 (no horizontal scrolling at
the current width, 320 CSS pixels being the width that criterion names);
``screenshot`` keeps a full-page PNG under ``test-results/screenshots/``, which
``make screenshots`` copies to ``docs/screenshots/`` for the README.
"""

from __future__ import annotations

from pathlib import Path

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 900}
NARROW = {"width": 320, "height": 640}

BLOCKING_IMPACTS = ("serious", "critical")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-results" / "screenshots"

_axe = Axe()

# Elements whose right edge passes the viewport: what to fix when a page does not reflow.
_OVERFLOWING = """
() => Array.from(document.querySelectorAll("body *"))
  .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 0.5)
  .slice(0, 10)
  .map((el) => {
    const name = el.tagName.toLowerCase() + (el.id ? "#" + el.id : "")
      + (el.classList.length ? "." + Array.from(el.classList).join(".") : "");
    return `${name} (right edge at ${Math.round(el.getBoundingClientRect().right)}px)`;
  })
"""


def serious_violations(page: Page) -> list[dict]:
    """axe-core's violations on the current page whose impact is serious or critical."""
    results = _axe.run(page)
    return [v for v in results.response["violations"] if v.get("impact") in BLOCKING_IMPACTS]


def format_violations(violations: list[dict]) -> str:
    lines = []
    for violation in violations:
        lines.append(
            f"- {violation['id']} ({violation['impact']}): {violation['help']} "
            f"<{violation['helpUrl']}>"
        )
        for node in violation["nodes"]:
            target = " ".join(str(part) for part in node["target"])
            summary = " ".join((node.get("failureSummary") or "").split())
            lines.append(f"    {target}: {summary}" if summary else f"    {target}")
    return "\n".join(lines)


def assert_accessible(page: Page, context: str = "") -> None:
    """Fail listing every serious or critical axe-core violation on the current page.

    ``context`` says where the page was checked (shown in the failure message).
    """
    violations = serious_violations(page)
    viewport = page.viewport_size or {}
    where = f"{context} " if context else ""
    assert not violations, (
        f"{len(violations)} serious/critical accessibility violation(s) on {where}{page.url} "
        f"at {viewport.get('width')}x{viewport.get('height')}:\n{format_violations(violations)}"
    )


def assert_reflows(page: Page) -> None:
    """At the current viewport the page needs no horizontal scrolling."""
    scroll_width, inner_width = page.evaluate(
        "() => [document.documentElement.scrollWidth, window.innerWidth]"
    )
    if scroll_width > inner_width:
        culprits = "\n".join(f"    {c}" for c in page.evaluate(_OVERFLOWING))
        raise AssertionError(
            f"{page.url} scrolls horizontally at {inner_width}px: the document is "
            f"{scroll_width}px wide. Elements past the right edge:\n{culprits}"
        )


def screenshot(page: Page, name: str) -> Path:
    """A full-page PNG at ``test-results/screenshots/<name>.png``."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
