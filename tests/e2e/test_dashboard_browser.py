"""The dashboard in a real browser over a project with every part of the agreement report filled: both
review modes, a judge run in both orders under two rubric versions, a criterion (the project of
tests/integration/test_agreement_report.py). Saved as artifacts/dashboard-full.png for a person to look at;
artifacts/dashboard.png (tests/e2e/test_review_browser.py) shows the sparser PandaLM import.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from server.app import create_app
from server.settings import Settings
from server.storage import open_store
from tests.e2e.browser import screenshot, sign_in, streamlit_app
from tests.support.agreement_world import build, viewer_token
from tests.support.live import live_server

pytestmark = pytest.mark.e2e


def test_dashboard_with_every_part_filled(browser: Browser, tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'rubricate.db'}")
    try:
        world = build(store)
        token = viewer_token(store, world)
        app = create_app(Settings(home=tmp_path, database_url=store.url), store=store)
        with live_server(app) as api, streamlit_app(api, tmp_path) as ui:
            page = sign_in(browser, ui, token)  # viewers land on the dashboard
            expect(page.get_by_role("heading", name="Dashboard · demo")).to_be_visible(timeout=30_000)
            headings = ("Judge position and length bias", "Anchoring", "Reviewers and the judge", "Error taxonomy")
            for heading in (*headings, "Hotspots", "By rubric version"):
                expect(page.get_by_role("heading", name=heading)).to_be_visible()
            screenshot(page, "dashboard-full.png")
            expect(page.locator(".vega-embed")).to_have_count(8)  # heatmap, judges ×2, bias ×2, anchoring, versions ×2
            page.close()
    finally:
        store.dispose()
