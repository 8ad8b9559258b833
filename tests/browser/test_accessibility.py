"""Accessibility basics on every page (issue 6): labelled controls and text contrast >= 4.5:1."""

from __future__ import annotations

from typing import Any

import pytest

from gsomia.runtime.cluster import LocalCluster
from tests.browser.conftest import shot, sign_in

pytestmark = pytest.mark.integration

UNLABELLED = """() => [...document.querySelectorAll(
    'input:not([type=hidden]), select, textarea, button, progress')]
  .filter((el) => {
    const byFor = el.id && document.querySelector(`label[for="${CSS.escape(el.id)}"]`);
    const named = el.getAttribute('aria-label') || el.getAttribute('aria-labelledby')
      || el.closest('label') || byFor || (el.tagName === 'BUTTON' && el.textContent.trim());
    return !named;
  }).map((el) => el.outerHTML.slice(0, 120))"""

# WCAG 2.2 relative luminance and contrast; the background is the nearest opaque one.
LOW_CONTRAST = """() => {
  const parse = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] === 1)) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const out = [];
  for (const el of document.querySelectorAll('body *')) {
    if (el.closest('svg') || el.tagName === 'OPTION' || el.tagName === 'SCRIPT') continue;
    const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!own) continue;
    const box = el.getBoundingClientRect();
    if (!box.width || !box.height || getComputedStyle(el).visibility === 'hidden') continue;
    if (box.bottom < 0) continue; // the skip link, off screen until focused
    const fg = parse(getComputedStyle(el).color).slice(0, 3);
    const [a, b] = [lum(fg), lum(background(el))].sort((x, y) => y - x);
    const ratio = (a + 0.05) / (b + 0.05);
    if (ratio < 4.5) out.push(`${el.tagName}.${el.className}: ${ratio.toFixed(2)} "${el.textContent.trim().slice(0, 30)}"`);
  }
  return out;
}"""

PAGES = (
    "agreements",
    "agreements/kor-jpn-gsomia-2016?at=2019-11-22T20:00%2B09:00",
    "exchanges",
    "consent",
    "approvals",
    "breaches",
    "visits",
    "audit",
    "live",
)


def test_every_page_has_labelled_controls_and_enough_contrast(nodes: LocalCluster, page: Any
                                                              ) -> None:  # fmt: skip
    base = nodes.nodes["KOR"].api_url
    page.goto(f"{base}/web/login")
    assert page.evaluate(UNLABELLED) == []
    assert page.evaluate(LOW_CONTRAST) == []
    shot(page, "login")
    sign_in(page, nodes, "KOR", "kor-release-1")  # the release form is on Exchanges
    for path in ("agreements", "exchanges", "live"):
        page.goto(f"{base}/web/{path}")
        assert page.evaluate(UNLABELLED) == [], path
        assert page.evaluate(LOW_CONTRAST) == [], path
    page.context.clear_cookies()
    sign_in(page, nodes, "KOR", "officer")
    for path in PAGES:
        page.goto(f"{base}/web/{path}")
        page.wait_for_load_state()
        assert page.evaluate(UNLABELLED) == [], path
        assert page.evaluate(LOW_CONTRAST) == [], path
        if path in ("breaches", "consent", "approvals", "visits", "audit"):
            shot(page, path)
