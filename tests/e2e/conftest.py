"""The kernel's browser tests; the fixtures live in tests/browser.py (shared by every app)."""

import pytest


@pytest.fixture(autouse=True)
def _fast_hashing(fast_password_hashing):
    # Factories hash a password per user; the production hasher would dominate the run.
    pass


def pytest_collection_modifyitems(items):
    # Every test in this folder drives a browser: `make e2e` selects them with `-m e2e`.
    for item in items:
        if "tests/e2e/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.e2e)
