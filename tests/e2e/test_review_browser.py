"""The review screens in a real browser: Debian's Chromium, driven by Playwright, against `streamlit run`
and a real API serving the PandaLM data.

A reviewer signs in with a token, ranks the item on screen and the ranking is found through the API; an
author opens the dashboard. Screenshots of both screens are saved to artifacts/ (git-ignored) so a
person can look at what the test saw.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.browser import ARTIFACTS, ROOT, screenshot, sign_in, streamlit_app
from tests.support.review_stack import ReviewStack, review_stack

PANDALM = ROOT.parent / "shared" / "data" / "pandalm"

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReviewStack]:
    with review_stack(tmp_path_factory.mktemp("review-e2e"), PANDALM) as running:
        running.review_settings(blind_fraction=0.0)  # assisted items: the judge's verdict is on screen
        yield running


@pytest.fixture(scope="module")
def ui_url(stack: ReviewStack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with streamlit_app(stack.url, tmp_path_factory.mktemp("streamlit")) as url:
        yield url


def test_reviewer_ranks_an_item_in_the_browser(browser: Browser, ui_url: str, stack: ReviewStack) -> None:
    page = sign_in(browser, ui_url, stack.tokens["rev1"])
    expect(page.get_by_role("heading", name="Review · pandalm")).to_be_visible(timeout=30_000)
    expect(page.get_by_text("Signed in as")).to_contain_text("rev1")
    expect(page.get_by_text(re.compile(r"^Judge .* prefers"))).to_be_visible()  # assisted mode
    caption = page.get_by_text(re.compile(r"^Assignment \d+ · assisted mode$")).inner_text()
    assignment = int(caption.split()[1])
    page.get_by_text("B (right)").click()
    page.get_by_label("Rationale").fill("B is correct and complete; A misses the second part.")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "review.png", full_page=True)
    page.get_by_role("button", name="Submit ranking").click()
    saved = page.get_by_text(re.compile(r"^Ranking saved for pair \d+"))
    expect(saved).to_be_visible(timeout=30_000)
    pair_id = int(re.search(r"pair (\d+)", saved.inner_text()).group(1))  # type: ignore[union-attr]
    next_item = page.get_by_text(re.compile(r"^Assignment \d+ "))
    expect(next_item).not_to_have_text(re.compile(rf"^Assignment {assignment} "))  # the next item is on screen
    pair = stack.call("GET", f"/pairs/{pair_id}").json()
    [mine] = [r for r in pair["rankings"] if r["annotator"] == "rev1"]
    assert mine["rationale"] == "B is correct and complete; A misses the second part."
    assert mine["outcome"] in {"a", "b"} and mine["mode"] == "assisted" and mine["source"] == "review"
    page.close()


def test_author_opens_the_dashboard(browser: Browser, ui_url: str, stack: ReviewStack) -> None:
    page = sign_in(browser, ui_url, stack.tokens["ada"])
    expect(page.get_by_role("heading", name="Review · pandalm")).to_be_visible(timeout=30_000)
    page.get_by_role("link", name="Dashboard").click()
    expect(page.get_by_role("heading", name="Dashboard · pandalm")).to_be_visible(timeout=30_000)
    expect(page.get_by_role("heading", name="Models")).to_be_visible(timeout=60_000)  # PandaLM's five, from cmp_key
    screenshot(page, "dashboard.png")
    page.close()
