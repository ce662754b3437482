"""The dashboard's Routing section over a real API and SQLite store: coverage per judge, the certified bound,
human labels saved, and an audit that contradicts the calibration flagged on screen.

The project of tests/integration/test_routing_store.py, routed at α = δ = 0.1 (28 of 40 pairs accepted by `j`),
review overlap 3 and an audit rate of 0.25; a reviewer then contradicts every audited judge label.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from streamlit.testing.v1 import AppTest

from rubrics.outcomes import flip
from server.app import create_app
from server.review import RankingSubmission, next_assignment, submit_ranking
from server.routing.queue import audit_sampled
from server.routing.service import CalibrateRequest, calibrate_project, route_project
from server.settings import Settings
from server.storage import Repository, open_store
from server.storage.tables import RoutingDecision
from tests.integration.test_routing_store import load
from tests.support.live import live_server

APP = Path(__file__).resolve().parents[2] / "review_ui" / "app.py"


def test_dashboard_routing_section(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'rubricate.db'}")
    try:
        pid = load(store)
        with store.write() as session:
            repo = Repository(session)
            project = repo.project(pid)
            repo.update_project_settings(
                project, {"review": {"overlap": 3, "blind_fraction": 1.0, "gold_rate": 0.0, "audit_rate": 0.25}}
            )
            viewer, token = repo.create_annotator("vic", "viewer")
            reviewer, _ = repo.create_annotator("rita", "reviewer")
            repo.add_member(project, viewer)
            repo.add_member(project, reviewer)
        record = calibrate_project(
            store, pid, CalibrateRequest(judges=["j"], signal="confidence", alpha=0.1, delta=0.1)
        )
        route_project(store, pid, int(record.calibration))
        with store.read() as session:
            accepted = {d.pair_id: d.outcome for d in session.query(RoutingDecision) if d.status == "accepted"}
        sample = sum(audit_sampled(pair, 0.25) for pair in accepted)
        audited = 0
        while (assignment := next_assignment(store, pid, reviewer)) is not None:
            outcome = flip(accepted[assignment.pair_id]) if assignment.pair_id in accepted else "tie"
            shown = flip(outcome) if assignment.swapped else outcome
            submit_ranking(store, assignment.id, reviewer, RankingSubmission(outcome=shown), f"k{assignment.id}")
            audited += assignment.pair_id in accepted
        assert audited == sample > 0

        app = create_app(Settings(home=tmp_path, database_url=store.url), store=store)
        with live_server(app) as url:
            status = httpx.get(f"{url}/projects/{pid}/routing", headers={"Authorization": f"Bearer {token}"}).json()
            assert (status["accepted"], status["escalated"], status["audit_sample"]) == (28, 12, sample)
            assert status["human_labels_saved"] == (28 - sample) * 3
            monkeypatch.setenv("RUBRICATE_API_URL", url)
            ui = AppTest.from_file(str(APP), default_timeout=60)
            ui.run()
            ui.text_input(key="token_input").input(token)
            next(b for b in ui.button if b.label == "Sign in").click()
            ui.run()
            assert not ui.exception, [e.value for e in ui.exception]
            assert "Routing" in [s.value for s in ui.subheader]
            metrics = {m.label: m.value for m in ui.metric}
            assert metrics["Coverage"] == "70%" and metrics["Escalated"] == "12"
            assert metrics["Human labels saved"] == str((28 - sample) * 3)
            assert metrics["Audit disagreement"] == "1.00"
            assert any("The audit contradicts calibration" in e.value for e in ui.error)
    finally:
        store.dispose()


def test_the_review_screen_says_why_a_pair_is_there(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'rubricate.db'}")
    try:
        pid = load(store)
        with store.write() as session:
            repo = Repository(session)
            project = repo.project(pid)
            repo.update_project_settings(project, {"review": {"overlap": 1, "gold_rate": 0.0, "audit_rate": 0.0}})
            reviewer, token = repo.create_annotator("rita", "reviewer")
            repo.add_member(project, reviewer)
        record = calibrate_project(
            store, pid, CalibrateRequest(judges=["j"], signal="confidence", alpha=0.1, delta=0.1)
        )
        route_project(store, pid, int(record.calibration))
        app = create_app(Settings(home=tmp_path, database_url=store.url), store=store)
        with live_server(app) as url:
            monkeypatch.setenv("RUBRICATE_API_URL", url)
            ui = AppTest.from_file(str(APP), default_timeout=60)
            ui.run()
            ui.text_input(key="token_input").input(token)
            next(b for b in ui.button if b.label == "Sign in").click()
            ui.run()
            assert not ui.exception, [e.value for e in ui.exception]
            assert [t.value for t in ui.title] == ["Review · routed"]
            assert any("certified routing escalated it" in c.value for c in ui.caption), [c.value for c in ui.caption]
    finally:
        store.dispose()
