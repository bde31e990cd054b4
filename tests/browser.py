"""Browser fixtures: Playwright driving Debian's chromium against pytest-django's live server.

Available to every test (tests/conftest.py imports them): a test that uses `page` is marked
`e2e` wherever it lives. Every page opened through the `page` fixture is watched: console errors,
uncaught exceptions, Content-Security-Policy violations and failed requests (HTTP >= 400) are
collected in `page_watch`, so a test can assert that a page is clean.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in this thread; Django would then refuse ORM calls
# made by the test body after a page action (SynchronousOnlyOperation). The test body and the
# live server never share a connection, so the check has nothing to protect here.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM_PATH = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
OUTPUT_DIR = Path(__file__).resolve().parents[1] / "test-output" / "e2e"

# Reports `securitypolicyviolation` events to Python; injected before any page script runs.
_CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (e) => {
  window.__reportCspViolation(
    `${e.violatedDirective} blocked ${e.blockedURI || "inline"} at ${e.sourceFile}:${e.lineNumber}`
  );
});
"""


@dataclass
class PageWatch:
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    csp_violations: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        return [
            *(f"console: {m}" for m in self.console_errors),
            *(f"exception: {m}" for m in self.page_errors),
            *(f"CSP: {m}" for m in self.csp_violations),
            *(f"request: {m}" for m in self.failed_requests),
        ]

    def assert_clean(self) -> None:
        assert self.problems() == [], "\n".join(self.problems())


@pytest.fixture(scope="session")
def output_dir() -> Path:
    OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
    return OUTPUT_DIR


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM_PATH).exists():
        pytest.skip(f"chromium not found at {CHROMIUM_PATH}")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM_PATH, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def fast_password_hashing(settings):
    # Factories hash a password per user; the production hasher would dominate the run.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def page_watch() -> PageWatch:
    return PageWatch()


@pytest.fixture
def page(
    request, browser, live_server, transactional_db, page_watch, output_dir, fast_password_hashing
):
    """A fresh browser context (Italian locale, desktop viewport) whose problems are watched."""
    context = browser.new_context(
        base_url=live_server.url,
        locale="it-IT",
        timezone_id="Europe/Rome",
        viewport={"width": 1280, "height": 900},
    )
    context.set_default_timeout(10_000)
    context.expose_function(
        "__reportCspViolation", lambda message: page_watch.csp_violations.append(message)
    )
    context.add_init_script(_CSP_LISTENER)
    page = context.new_page()
    page.on(
        "console",
        lambda msg: page_watch.console_errors.append(msg.text) if msg.type == "error" else None,
    )
    page.on("pageerror", lambda exc: page_watch.page_errors.append(str(exc)))
    page.on(
        "response",
        lambda r: (
            page_watch.failed_requests.append(f"{r.status} {r.url}") if r.status >= 400 else None
        ),
    )
    page.on("requestfailed", lambda r: page_watch.failed_requests.append(f"failed {r.url}"))
    yield page
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        page.screenshot(path=str(output_dir / f"failed-{request.node.name}.png"), full_page=True)
    context.close()


@pytest.fixture
def log_in(page):
    """log_in(user) fills the login page and waits for the home page."""

    def do(user, password: str = "password-di-prova-1") -> None:
        page.goto("/account/accedi/")
        page.get_by_label("Nome utente", exact=True).fill(user.username)
        page.get_by_label("Password", exact=True).fill(password)
        page.get_by_test_id("login-submit").click()
        page.wait_for_url("**/")

    return do


def pdf_screenshot(page, pdf: Path, png: Path) -> None:
    """The first page of a PDF as chromium's own PDF viewer draws it, saved as PNG."""
    viewer = page.context.new_page()
    viewer.goto(pdf.resolve().as_uri())
    viewer.wait_for_timeout(2_000)  # the viewer draws the page after the load event
    viewer.screenshot(path=str(png))
    viewer.close()
