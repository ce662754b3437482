"""The report's review signals on a small stored world whose every figure is computed by hand.

Judge `j` says `a` on pairs 0–9 in both orders (under hhh@1.0.0), before anyone ranks.
- rex (under hhh@1.0.0) assisted on pairs 0–4, says `a` every time (2 s each); blind on 5–9, says `b`:
  acceptance 5/5 = 1.0, blind agreement 0/5 = 0.0, excess 1.0 in every resample: a rubber stamp.
- sue (under hhh@1.0.1) assisted on 0–4: accepts on 0, 1 (10 s, 20 s), overrides on 2, 3, 4 (30, 40, 50 s);
  blind on 5–9 agrees on 5, 6: acceptance 2/5 = blind 2/5, excess 0: not flagged.
- tom skips pairs 10–13 under hhh@1.0.0 (unclear_guideline ×3, broken_item) and 14–15 under hhh@1.0.1
  (unclear_guideline, and a free-text reason stored by an older client: `other`).
- Adjudications: pair 2 (ambiguous_item) and pair 7 (no reason: `other`), both last ranked under
  hhh@1.0.1; pair 13 (broken_item), never ranked: no rubric.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from pytest import MonkeyPatch
from streamlit.testing.v1 import AppTest

from rubrics.loader import LIBRARY, load_rubric
from server.agreement.models import ReportOptions, ReviewSignals
from server.agreement.reports import agreement_report
from server.app import create_app
from server.rubric_registry import publish
from server.settings import Settings
from server.storage import Repository, Store, open_store
from tests.conftest import Api
from tests.support.live import live_server

APP = Path(__file__).resolve().parents[2] / "review_ui" / "app.py"

NOW = datetime(2026, 1, 1, tzinfo=UTC)
CATEGORIES = ("unclear_guideline", "ambiguous_item", "broken_item", "other")


def _rank(repo: Repository, project_id: int, pair: int, person: object, version: int, mode: str, **answer) -> None:
    assignment = repo.add_assignment(
        project_id=project_id, pair_id=pair, annotator_id=person.id, mode=mode, swapped=False, rubric_version_id=version
    )
    repo.add_ranking(
        project_id=project_id, pair_id=pair, annotator_id=person.id, assignment_id=assignment.id,
        rubric_version_id=version, mode=mode, **answer,
    )  # fmt: skip
    repo.finish_assignment(assignment.id, "done", at=NOW)


def build(store: Store) -> tuple[int, list[int]]:
    hhh = load_rubric(LIBRARY / "hhh.yaml")
    publish(store, hhh)
    publish(store, hhh.model_copy(update={"version": "1.0.1", "description": hhh.description + " Clearer."}))
    with store.write() as session:
        repo = Repository(session)
        v1, v2 = (v.id for v in sorted(repo.rubric_versions("hhh"), key=lambda v: v.version))
        project = repo.create_project("signals")
        rex, sue, tom, boss = (repo.create_annotator(n, "reviewer")[0] for n in ("rex", "sue", "tom", "boss"))
        pairs = []
        for n in range(16):
            prompt = repo.add_prompt(project.id, [{"role": "user", "content": f"q{n}"}], is_chat=False)
            a, b = (repo.add_response(prompt.id, f"{side}{n}", source="import") for side in "ab")
            pairs.append(repo.add_pair(project.id, prompt.id, a, b, key=f"p{n}").id)
        for n in range(10):
            for order in ("ab", "ba"):
                repo.add_verdict(
                    key=f"j{n}{order}", project_id=project.id, pair_id=pairs[n], judge_model="j", order=order,
                    outcome="a", rubric_version_id=v1,
                )  # fmt: skip
        session.flush()
        for n in range(10):
            mode = "assisted" if n < 5 else "blind"
            _rank(repo, project.id, pairs[n], rex, v1, mode, outcome="a" if n < 5 else "b", seconds=2.0)
            sue_says = "a" if n in (0, 1, 5, 6) else "b"
            _rank(repo, project.id, pairs[n], sue, v2, mode, outcome=sue_says, seconds=10.0 * (n + 1))
        skips = [(v1, "unclear_guideline")] * 3 + [(v1, "broken_item"), (v2, "unclear_guideline"), (v2, "text cut")]
        for n, (version, why) in zip(range(10, 16), skips, strict=True):
            assignment = repo.add_assignment(
                project_id=project.id, pair_id=pairs[n], annotator_id=tom.id, mode="blind", swapped=False,
                rubric_version_id=version,
            )  # fmt: skip
            repo.finish_assignment(assignment.id, "skipped", at=NOW, reason=why, note="looked at it")
        pair = repo.pair
        repo.set_adjudication(pair(pairs[2]), boss, "a", "two readings", "ambiguous_item")
        repo.set_adjudication(pair(pairs[7]), boss, "b", "free text only")
        repo.set_adjudication(pair(pairs[13]), boss, "tie", "response b is empty", "broken_item")
        return project.id, pairs


def signals(store: Store, project_id: int, resamples: int = 400) -> ReviewSignals:
    with store.read() as session:
        found = agreement_report(Repository(session), project_id, ReportOptions(resamples=resamples))
    assert found.review_signals is not None
    return found.review_signals


def test_acceptance_against_blind_agreement_flags_the_rubber_stamp(store: Store) -> None:
    project_id, _ = build(store)
    result = signals(store, project_id)
    rex, sue = result.per_annotator
    assert (rex.annotator, rex.counts) == ("rex", {"assisted": 5, "blind": 5})
    assert (rex.acceptance.value, rex.blind_agreement.value, rex.excess.value) == (1.0, 0.0, 1.0)
    assert (rex.excess.low, rex.excess.high) == (1.0, 1.0) and rex.rubber_stamp  # every resample: 1 − 0
    assert (sue.acceptance.value, sue.blind_agreement.value, sue.excess.value) == (0.4, 0.4, 0.0)
    assert sue.excess.low < 0 < sue.excess.high and not sue.rubber_stamp
    assert result.rubber_stamping == ["rex"]
    assert (rex.seconds_accepting, rex.seconds_overriding, rex.n_accepting, rex.n_overriding) == (2.0, None, 5, 0)
    assert (sue.seconds_accepting, sue.seconds_overriding, sue.n_accepting, sue.n_overriding) == (15.0, 40.0, 2, 3)
    overall = result.overall
    assert overall is not None and overall.counts == {"assisted": 10, "blind": 10}
    assert overall.acceptance.value == pytest.approx(0.7) and overall.blind_agreement.value == pytest.approx(0.2)
    assert overall.excess.value == pytest.approx(0.5)
    assert (overall.seconds_accepting, overall.seconds_overriding) == (2.0, 40.0)  # median of 2,2,2,2,2,10,20


def test_skips_and_adjudications_as_an_error_taxonomy_per_rubric_version(store: Store) -> None:
    project_id, _ = build(store)
    result = signals(store, project_id, resamples=0)
    assert result.taxonomy == {"unclear_guideline": 4, "ambiguous_item": 1, "broken_item": 2, "other": 2}
    none, first, second = result.by_rubric  # no rubric first, then by semver
    assert (none.rubric, none.assignments, none.adjudications["broken_item"]) == (None, 0, 1)
    assert none.rates == dict.fromkeys(CATEGORIES)
    assert (first.rubric, first.assignments) == ("hhh@1.0.0", 14)  # rex's 10 and tom's 4
    assert first.skips == {"unclear_guideline": 3, "ambiguous_item": 0, "broken_item": 1, "other": 0}
    assert first.rates["unclear_guideline"] == pytest.approx(3 / 14)
    assert (second.rubric, second.assignments) == ("hhh@1.0.1", 12)  # sue's 10 and tom's 2
    assert second.skips == {"unclear_guideline": 1, "ambiguous_item": 0, "broken_item": 0, "other": 1}
    assert second.adjudications == {"unclear_guideline": 0, "ambiguous_item": 1, "broken_item": 0, "other": 1}
    assert second.rates["other"] == pytest.approx(2 / 12)  # unclear-guideline skips fell from 3/14 to 1/12


def test_the_api_stores_a_typed_adjudication_reason(api: Api, store: Store) -> None:
    project_id, pairs = build(store)
    sent = api.client.post(
        f"/pairs/{pairs[3]}/adjudication", json={"outcome": "b", "reason": "unclear_guideline"}, headers=api.auth()
    )
    assert sent.status_code == 201 and sent.json()["reason"] == "unclear_guideline"
    bad = {"outcome": "b", "reason": "bad"}
    refused = api.client.post(f"/pairs/{pairs[3]}/adjudication", json=bad, headers=api.auth())
    assert refused.status_code == 422
    body = api.client.get(f"/projects/{project_id}/agreement?resamples=0", headers=api.auth()).json()
    assert body["review_signals"]["taxonomy"]["unclear_guideline"] == 5


def test_the_dashboard_flags_the_rubber_stamp_and_shows_the_taxonomy(tmp_path: Path, monkeypatch: MonkeyPatch) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'rubricate.db'}")
    try:
        project_id, _ = build(store)
        with store.write() as session:
            repo = Repository(session)
            viewer, token = repo.create_annotator("vic", "viewer")
            repo.add_member(repo.project(project_id), viewer)
        app = create_app(Settings(home=tmp_path, database_url=store.url), store=store)
        with live_server(app) as url:
            monkeypatch.setenv("RUBRICATE_API_URL", url)
            ui = AppTest.from_file(str(APP), default_timeout=60)
            ui.run()
            ui.text_input(key="token_input").input(token or "")
            next(b for b in ui.button if b.label == "Sign in").click()
            ui.run()
            assert not ui.exception, [e.value for e in ui.exception]
            [warning] = [w.value for w in ui.warning]
            assert "Possible rubber-stamping: rex accept" in warning
            metrics = {m.label: m.value for m in ui.metric}
            assert metrics["Acceptance (assisted)"] == "0.700" and metrics["Agreement (blind)"] == "0.200"
            assert metrics["Median s: accept / override"] == "2 / 40"
            assert (metrics["unclear guideline"], metrics["broken item"], metrics["other"]) == ("4", "2", "2")
            tables = [t.value for t in ui.dataframe]
            people = next(t for t in tables if "rubber-stamping" in t.columns)
            assert people.astype(object).where(people.notna(), None).values.tolist() == [
                ["rex", 1.0, 0.0, "+1.00", "+1.00 – +1.00", "yes", 2.0, None, 5, 5],
                ["sue", 0.4, 0.4, "+0.00", people["interval"][1], "", 15.0, 40.0, 5, 5],
            ]
            taxonomy = next(t for t in tables if "reason" in t.columns)
            assert len(taxonomy) == 3 * 4 and len(ui.get("vega_lite_chart")) >= 1
    finally:
        store.dispose()
