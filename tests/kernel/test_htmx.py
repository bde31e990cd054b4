"""htmx is part of the layout: loaded once on every page, from our static files, so the pages of
the workflow apps that refresh themselves (hx-get) need nothing of their own and the CSP keeps
refusing inline scripts."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest
from django.contrib.staticfiles import finders
from django.test import override_settings

pytestmark = pytest.mark.django_db

HTMX = re.compile(r'<script src="/static/(django_htmx/htmx-2\.min\.js)" defer(?: nonce="[^"]*")?>')


def inline_scripts_allowed(response) -> bool:
    script_src = re.search(r"script-src ([^;]+)", response["Content-Security-Policy"]).group(1)
    assert "'unsafe-inline'" not in script_src
    for body in re.findall(r"<script[^>]*>(.*?)</script>", response.content.decode(), flags=re.S):
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        if body.strip() and f"'sha256-{digest}'" not in script_src:
            return False
    return True


@pytest.mark.parametrize("debug", [False, True])
def test_every_page_loads_htmx_once_from_static_files(trio, client_for, debug):
    with override_settings(DEBUG=debug):
        for url in ["/", "/notifiche/"]:
            response = client_for(trio.owner).get(url)
            assert response.status_code == 200
            html = response.content.decode()
            assert len(HTMX.findall(html)) == 1, url
            assert finders.find(HTMX.search(html).group(1))
            assert '<meta name="htmx-config" content=\'{"includeIndicatorStyles": false}\'>' in html
            assert inline_scripts_allowed(response), url
