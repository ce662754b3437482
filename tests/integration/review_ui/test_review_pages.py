"""Every review screen driven by Streamlit's AppTest against a real API serving the PandaLM data.

The API runs in this process (uvicorn on a free port, see tests/support/live.py) over a SQLite store;
the screens reach it over HTTP through RUBRICATE_API_URL, as they do in production. What a screen did
is checked through the API (and, for fields the API does not return, in the store).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from review_ui.client import ApiError, Client
from rubrics.loader import load_rubric_text
from server.rubric_registry import publish, resolve
from server.storage import Repository
from server.storage.tables import Assignment, Ranking
from tests.support.review_stack import ReviewStack, review_stack

APP = Path(__file__).resolve().parents[3] / "review_ui" / "app.py"
PANDALM = Path(__file__).resolve().parents[4] / "shared" / "data" / "pandalm"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReviewStack]:
    """One API for the module (importing PandaLM takes seconds); each test uses its own people."""
    with review_stack(tmp_path_factory.mktemp("review-ui"), PANDALM) as running:
        yield running


@pytest.fixture
def ui(stack: ReviewStack, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    """A fresh, signed-out session of the app pointed at the test API."""
    monkeypatch.setenv("RUBRICATE_API_URL", stack.url)
    return AppTest.from_file(APP, default_timeout=60)


def signed_in(ui: AppTest, stack: ReviewStack, who: str) -> AppTest:
    """Sign `who` in through the sign-in form and land on their first page."""
    ui.run()
    ui.text_input(key="token_input").input(stack.tokens[who])
    button(ui, "Sign in").click()
    return ran(ui)


def ran(ui: AppTest) -> AppTest:
    """Run the script and insist it raised nothing (an exception would otherwise only be drawn on screen)."""
    ui.run()
    assert not ui.exception, [e.value for e in ui.exception]
    return ui


def button(ui: AppTest, label: str) -> Any:
    matches = [b for b in ui.button if b.label == label]
    assert matches, f"no button {label!r}; buttons: {[b.label for b in ui.button]}"
    return matches[0]


def texts(elements: Any) -> list[str]:
    return [e.value for e in elements]


def current_item(ui: AppTest) -> int:
    caption = next(c.value for c in ui.caption if c.value.startswith("Assignment "))
    return int(caption.split()[1])


def shown_texts(ui: AppTest) -> tuple[str, str]:
    """The texts under 'Response A' and 'Response B' as rendered in the two columns."""
    found = []
    for side in ("A", "B"):
        md = [m.value for m in ui.markdown]
        found.append(md[md.index(f"### Response {side}") + 1])
    return found[0], found[1]


def test_sign_in_rejects_a_bad_token_then_shows_who_and_the_project(ui: AppTest, stack: ReviewStack) -> None:
    ran(ui)
    assert texts(ui.title) == ["rubricate review"]
    ui.text_input(key="token_input").input("not-a-real-token")
    button(ui, "Sign in").click()
    ran(ui)
    assert texts(ui.error) == ["That token was not accepted."]
    assert "token" not in ui.session_state
    ui.text_input(key="token_input").input(stack.tokens["rev1"])
    button(ui, "Sign in").click()
    ran(ui)
    assert ui.session_state["me"]["name"] == "rev1"
    assert "Signed in as **rev1** (reviewer)" in texts(ui.sidebar.markdown)
    picker = ui.sidebar.selectbox(key="project_picker")
    assert picker.value == stack.project_id and picker.format_func(picker.value) == "pandalm  ·  reviewer"
    assert texts(ui.title) == ["Review · pandalm"]
    button(ui, "Sign out").click()
    ran(ui)
    assert texts(ui.title) == ["rubricate review"] and "token" not in ui.session_state


def test_pages_follow_the_role_in_the_project(ui: AppTest, stack: ReviewStack) -> None:
    signed_in(ui, stack, "vic")
    assert texts(ui.title) == ["Dashboard · pandalm"]  # a viewer's first page: no Review for them
    with pytest.raises(ValueError, match=r"Known pages: \['[^']*/screens/dashboard.py', '[^']*/screens/rubrics.py'\]"):
        ui.switch_page("screens/review.py")
    reviewer = AppTest.from_file(APP, default_timeout=60)
    signed_in(reviewer, stack, "rev1")
    with pytest.raises(ValueError, match=r"Known pages: \['[^']*/screens/review.py'\]"):
        reviewer.switch_page("screens/adjudicate.py")
    loner = AppTest.from_file(APP, default_timeout=60)
    signed_in(loner, stack, "loner")
    assert texts(loner.title) == ["Your account"]
    assert any("not a member of any project" in i for i in texts(loner.info))


def test_review_submission_is_stored_with_time_strength_and_one_idempotency_key(
    ui: AppTest, stack: ReviewStack
) -> None:
    stack.review_settings(blind_fraction=0.0)  # assisted: the judge's verdict is shown
    signed_in(ui, stack, "rev5")
    aid = current_item(ui)
    [hint] = [i for i in texts(ui.info) if i.startswith("**Judge ")]
    assert "(judged in one presentation order only)" in hint  # PandaLM's judges were imported in one order
    assert "Conversation" in texts(ui.subheader)
    left, right = shown_texts(ui)
    ui.session_state[f"started:{aid}"] = time.time() - 42  # the item was first shown 42 s ago
    ui.radio(key=f"outcome:{aid}").set_value("b")
    ui.checkbox(key=f"use_strength:{aid}").check()
    ui.select_slider(key=f"strength:{aid}").set_value(2)
    ui.text_area(key=f"rationale:{aid}").input("B answers the question; A drifts.")
    ui.select_slider(key=f"confidence:{aid}").set_value(4)
    button(ui, "Submit ranking").click()
    ran(ui)
    [success] = texts(ui.success)
    assert success.startswith("Ranking saved for pair ") and success.endswith("(answer B).")
    receipt = ui.session_state["last_ranking"]
    assert receipt["assignment_id"] == aid and receipt["created"] is True
    assert current_item(ui) != aid  # the next item is on screen

    pair = stack.call("GET", f"/pairs/{receipt['pair_id']}").json()
    [mine] = [r for r in pair["rankings"] if r["annotator"] == "rev5"]
    swapped = pair["response_a"]["text"] != left
    assert (pair["response_b"]["text"] if not swapped else pair["response_a"]["text"]) == right
    assert mine["outcome"] == ("a" if swapped else "b")  # B as shown, in the pair's stored order
    assert mine["strength"] == (-2 if swapped else 2)
    assert mine["rationale"] == "B answers the question; A drifts." and mine["mode"] == "assisted"
    with stack.store.read() as session:
        ranking = session.get(Ranking, receipt["id"])
        assert ranking is not None and ranking.confidence == 4
        assert 42 <= ranking.seconds < 42 + 60
        key = ranking.idempotency_key
    assert key == ui.session_state[f"idem:{aid}"]
    same = {"outcome": "b", "strength": 2, "rationale": "B answers the question; A drifts.", "confidence": 4}
    retry = stack.call("POST", f"/assignments/{aid}/ranking", "rev5", json=same, headers={"Idempotency-Key": key})
    assert retry.status_code == 200 and retry.json() == {**receipt, "created": False}
    other = stack.call(  # the same key with another answer is not a retry (#13 item 12)
        "POST", f"/assignments/{aid}/ranking", "rev5", json={"outcome": "a"}, headers={"Idempotency-Key": key}
    )
    assert other.status_code == 409


def test_a_strength_that_contradicts_the_choice_is_refused_before_sending(ui: AppTest, stack: ReviewStack) -> None:
    signed_in(ui, stack, "rev2")
    aid = current_item(ui)
    ui.radio(key=f"outcome:{aid}").set_value("a")
    ui.checkbox(key=f"use_strength:{aid}").check()
    ui.select_slider(key=f"strength:{aid}").set_value(3)
    button(ui, "Submit ranking").click()
    ran(ui)
    assert texts(ui.error) == ["The strength favours B but you chose A."]
    button(ui, "Submit ranking").click()
    ui.radio(key=f"outcome:{aid}").set_value(None)
    ran(ui)
    with stack.store.read() as session:
        assert session.get(Assignment, aid).status == "pending"  # type: ignore[union-attr]


def test_blind_items_show_nothing_of_the_judge(ui: AppTest, stack: ReviewStack) -> None:
    stack.review_settings(blind_fraction=1.0)
    signed_in(ui, stack, "rev3")
    assert "blind mode" in next(c.value for c in ui.caption if c.value.startswith("Assignment "))
    assert not any("Judge" in i for i in texts(ui.info))
    assert not any("judge" in m.lower() for m in texts(ui.markdown))


def test_skip_with_a_reason_moves_on_and_is_recorded(ui: AppTest, stack: ReviewStack) -> None:
    signed_in(ui, stack, "rev4")
    before = ui.metric[1].value
    aid = current_item(ui)
    ui.selectbox(key=f"skip_reason:{aid}").set_value("broken_item")
    ui.text_input(key=f"skip_note:{aid}").input("response B is cut off")
    button(ui, "Skip").click()
    ran(ui)
    assert texts(ui.success) == ["Item skipped (the item is broken (empty, garbled, wrong language…))."]
    assert current_item(ui) != aid
    assert (before, ui.metric[1].value) == ("0", "1")  # the Skipped counter
    with stack.store.read() as session:
        skipped = session.get(Assignment, aid)
        assert skipped is not None
        assert (skipped.status, skipped.skip_reason, skipped.skip_note) == (
            "skipped",
            "broken_item",
            "response B is cut off",
        )


def test_adjudication_sets_the_final_label(ui: AppTest, stack: ReviewStack) -> None:
    signed_in(ui, stack, "ada")
    assert texts(ui.title) == ["Review · pandalm"]
    ran(ui.switch_page("screens/adjudicate.py"))
    assert texts(ui.title) == ["Adjudicate · pandalm"]
    disputes = stack.call("GET", f"/projects/{stack.project_id}/disputes", "ada").json()
    table = ui.dataframe[0].value
    assert list(table["pair"][:5]) == [d["pair_id"] for d in disputes[:5]]
    pair_id = ui.selectbox(key="dispute_pick").value
    assert pair_id == disputes[0]["pair_id"] and disputes[0]["adjudication"] is None
    pair = stack.call("GET", f"/pairs/{pair_id}", "ada").json()
    shown_rankings = ui.dataframe[1].value
    assert sorted(shown_rankings["annotator"]) == sorted(r["annotator"] for r in pair["rankings"])
    assert len(ui.dataframe[2].value) == len(pair["verdicts"])
    ui.radio(key=f"final:{pair_id}").set_value("tie")
    ui.selectbox(key=f"final_reason:{pair_id}").set_value("ambiguous_item")
    ui.text_area(key=f"final_note:{pair_id}").input("Both answers are equally wrong.")
    button(ui, "Save final label").click()
    ran(ui)
    assert texts(ui.success) == [f"Final label for pair {pair_id}: Tie."]
    assert stack.call("GET", f"/pairs/{pair_id}", "ada").json()["adjudication"] == "tie"
    report = stack.call("GET", f"/projects/{stack.project_id}/agreement?resamples=0", "ada").json()
    assert report["review_signals"]["taxonomy"]["ambiguous_item"] == 1  # the reason reached the error taxonomy
    again = stack.call("GET", f"/projects/{stack.project_id}/disputes?limit=5000", "ada").json()
    assert next(d for d in again if d["pair_id"] == pair_id)["adjudication"] == "tie"


def test_review_settings_are_edited_from_the_adjudicate_page(ui: AppTest, stack: ReviewStack) -> None:
    signed_in(ui, stack, "ada")
    ran(ui.switch_page("screens/adjudicate.py"))
    ui.number_input[0].set_value(5)
    ui.slider[0].set_value(0.25)
    button(ui, "Save settings").click()
    ran(ui)
    assert "Review settings saved." in texts(ui.success)
    settings = stack.call("GET", f"/projects/{stack.project_id}/review/settings", "ada").json()
    assert (settings["overlap"], settings["blind_fraction"]) == (5, 0.25)
    stack.review_settings()


def test_export_shows_the_manifest_and_offers_the_zip(ui: AppTest, stack: ReviewStack) -> None:
    signed_in(ui, stack, "ada")
    ran(ui.switch_page("screens/export.py"))
    ui.selectbox(key="export_format").set_value("dpo")
    ui.selectbox(key="export_source").set_value("humans")
    ui.checkbox(key="export_drop_ties").check()
    button(ui, "Run export").click()
    ran(ui)
    [done] = texts(ui.success)
    assert done.startswith("Export ") and done.endswith("done: dpo from humans.")
    metrics = {m.label: m.value for m in ui.metric}
    same = stack.call(
        "POST",
        f"/projects/{stack.project_id}/exports",
        "ada",
        json={"format": "dpo", "source": "humans", "drop_ties": True},
    ).json()["manifest"]
    assert metrics["Pairs in"] == str(same["pairs_in"]) == "999"
    assert metrics["Pairs exported"] == str(same["pairs_exported"]) and same["pairs_exported"] > 0
    assert metrics["Rows"] == str(sum(same["rows"].values()))
    data, name = ui.session_state["export_zip"]
    assert name.endswith(".zip") and data[:2] == b"PK"


def served(stack: ReviewStack, path: str, who: str = "ada") -> Any:
    """The JSON the API answers at `path`, or None when this server has no such route yet."""
    reply = stack.call("GET", path, who)
    if reply.status_code in (404, 405) and reply.json()["error"]["message"] in ("Not Found", "Method Not Allowed"):
        return None
    assert reply.status_code == 200, reply.text
    return reply.json()


def test_dashboard_charts_the_agreement_report(ui: AppTest, stack: ReviewStack) -> None:
    signed_in(ui, stack, "vic")  # viewers land on the dashboard
    assert texts(ui.title) == ["Dashboard · pandalm"]
    report = served(stack, f"/projects/{stack.project_id}/agreement", "vic")
    if report is None:
        [warning] = texts(ui.warning)
        assert warning.startswith("Agreement report: not available on this server yet")
        return
    assert not ui.exception and not ui.error
    metrics = {m.label: m.value for m in ui.metric}
    assert metrics["Fleiss' κ"] == f"{report['human_human']['fleiss_kappa']['value']:.3f}"
    assert metrics["Krippendorff's α"] == f"{report['human_human']['krippendorff_alpha']['value']:.3f}"
    assert len(ui.get("vega_lite_chart")) >= 2  # the kappa heatmap and the judge metrics at least
    one_order = [b["judge"] for b in report["judge_bias"] if b["consistency"]["value"] is None]
    if one_order:  # the imported judges came in one presentation order each
        assert any(", ".join(one_order) in i.value for i in ui.info), texts(ui.info)
    hotspots = next(t.value for t in ui.dataframe if "human votes" in t.value.columns)
    assert list(hotspots["pair"]) == [h["pair"] for h in report["hotspots"]]


def test_rubrics_lists_versions_and_diffs_two(ui: AppTest, stack: ReviewStack) -> None:
    signed_in(ui, stack, "vic")
    ran(ui.switch_page("screens/rubrics.py"))
    assert texts(ui.title) == ["Rubrics"]
    rubrics = served(stack, "/rubrics", "vic")
    if rubrics is None:
        [warning] = texts(ui.warning)
        assert warning.startswith("Listing rubrics: not available on this server yet")
        return
    assert not ui.exception and not ui.error
    if not rubrics:
        assert texts(ui.info) == ["No rubric is published yet: `rubricate rubric publish FILE.yaml`."]
        return
    table = ui.dataframe[0].value
    assert list(table["rubric"]) == [r["name"] for r in rubrics]


def test_server_errors_reach_the_screen_with_the_servers_own_message(ui: AppTest, stack: ReviewStack) -> None:
    signed_in(ui, stack, "rev6")
    aid = current_item(ui)
    # Meanwhile the same reviewer skips the item elsewhere (another tab): the form's submission must fail.
    assert stack.call("POST", f"/assignments/{aid}/skip", "rev6", json={"reason": "other"}).status_code == 204
    ui.radio(key=f"outcome:{aid}").set_value("tie")
    button(ui, "Submit ranking").click()
    ran(ui)
    assert texts(ui.error) == [f"Submitting your ranking failed (409): assignment {aid} is already skipped"]
    with Client(stack.url, stack.tokens["rev6"]) as client, pytest.raises(ApiError) as failed:
        client.skip(aid, "bored")
    assert failed.value.status == 422 and failed.value.detail[0]["field"] == "reason"
    assert failed.value.message.startswith("invalid request: reason: Input should be")
    with Client(stack.url, "wrong") as client, pytest.raises(ApiError) as failed:
        client.me()
    assert failed.value.status == 401 and not failed.value.not_available


def test_guidelines_and_per_criterion_choices_are_shown_and_stored(ui: AppTest, stack: ReviewStack) -> None:
    rubric = load_rubric_text(
        """
name: compare
version: 1.0.0
description: Which response answers better.
modes: [pairwise]
criteria:
  - {id: helpful, title: Helpfulness, description: Does it do what was asked}
  - {id: concise, title: Concision, description: No padding}
guidelines: Prefer the response that **answers the question**.
"""
    )
    publish(stack.store, rubric)
    settings = stack.call("GET", f"/projects/{stack.project_id}/review/settings").json()
    pinned = stack.call("PUT", f"/projects/{stack.project_id}/review/settings", json={**settings, "rubric": "compare"})
    assert pinned.json()["rubric"] == "compare@1.0.0"  # a bare name is pinned to the exact version
    try:
        signed_in(ui, stack, "rev7")
        aid = current_item(ui)
        assert ui.expander[0].label == "Guidelines"
        assert any("Prefer the response that **answers the question**." in text for text in texts(ui.markdown))
        assert any("rubric compare@1.0.0" in caption.value for caption in ui.caption)
        helpful, concise = ui.radio(key=f"crit:{aid}:helpful"), ui.radio(key=f"crit:{aid}:concise")
        assert (helpful.label, concise.label) == ("Helpfulness", "Concision")
        assert helpful.help == "Does it do what was asked"
        left, _ = shown_texts(ui)
        helpful.set_value("a")  # concise left unanswered: it is optional
        ui.radio(key=f"outcome:{aid}").set_value("a")
        button(ui, "Submit ranking").click()
        ran(ui)
        pair = stack.call("GET", f"/pairs/{ui.session_state['last_ranking']['pair_id']}").json()
        [mine] = [r for r in pair["rankings"] if r["annotator"] == "rev7"]
        stored = "a" if pair["response_a"]["text"] == left else "b"
        assert mine["outcome"] == stored and mine["criteria"] == {"helpful": stored}
        with stack.store.read() as session:
            ranking = session.get(Ranking, ui.session_state["last_ranking"]["id"])
            assert ranking is not None and ranking.rubric_version_id == resolve(Repository(session), "compare")[0].id
    finally:
        stack.call("PUT", f"/projects/{stack.project_id}/review/settings", json=settings)
