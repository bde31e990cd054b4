"""The API documentation page really runs in a browser under the platform's CSP."""

from __future__ import annotations


def test_swagger_ui_renders_in_chromium_under_our_csp(page, page_watch, output_dir):
    """The real check of the CSP: a browser runs the page and reports any refused resource."""
    page.goto("/api/docs/")
    page.wait_for_selector("text=/api/me/", timeout=15_000)
    title = page.text_content(".info .title")
    page.screenshot(path=str(output_dir / "api-docs.png"))

    assert "API Piattaforma e-procurement" in (title or "")
    page_watch.assert_clean()
