"""The dashboard draws the agreement report of a project with every part filled: both review modes,
two judges, two rubric versions and a criterion (the PandaLM import has no modes, versions or criteria).

The API runs in this process over a real SQLite store; the Streamlit dashboard reaches it over HTTP.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from streamlit.testing.v1 import AppTest

from review_ui import charts
from server.app import create_app
from server.settings import Settings
from server.storage import open_store
from tests.support.agreement_world import build, viewer_token
from tests.support.live import live_server

APP = Path(__file__).resolve().parents[2] / "review_ui" / "app.py"


def test_dashboard_draws_every_part_of_the_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'rubricate.db'}")
    try:
        world = build(store)
        token = viewer_token(store, world)
        app = create_app(Settings(home=tmp_path, database_url=store.url), store=store)
        with live_server(app) as url:
            report = httpx.get(
                f"{url}/projects/{world.project_id}/agreement", headers={"Authorization": f"Bearer {token}"}, timeout=60
            ).json()
            assert report["anchoring"] and report["judge_bias"] and len(report["rubric_versions"]) == 3
            monkeypatch.setenv("RUBRICATE_API_URL", url)
            ui = AppTest.from_file(str(APP), default_timeout=60)
            ui.run()
            ui.text_input(key="token_input").input(token)
            next(b for b in ui.button if b.label == "Sign in").click()
            ui.run()
            assert not ui.exception, [e.value for e in ui.exception]
            assert [t.value for t in ui.title] == ["Dashboard · demo"]
            assert not ui.error and not ui.warning, [*ui.error, *ui.warning]
            metrics = {m.label: m.value for m in ui.metric}
            assert metrics["Fleiss' κ"] == f"{report['human_human']['fleiss_kappa']['value']:.3f}"
            assert metrics["Krippendorff's α"] == f"{report['human_human']['krippendorff_alpha']['value']:.3f}"
            subheaders = [s.value for s in ui.subheader]
            assert subheaders == [
                "Reviewers with each other",
                "Judges against reviewers",
                "Judge position and length bias",
                "Anchoring: agreement with the judge, assisted vs blind",
                "Reviewers and the judge's suggestions",
                "Error taxonomy: skips and adjudications",
                "Hotspots",
                "By rubric version",
            ]
            # j2 was judged in one order only: the screen says so instead of drawing a consistency of 0
            assert any("one presentation order only" in i.value and "j2" in i.value for i in ui.info)
            [j1] = [row for row in report["anchoring"] if row["judge"] == "j1"]
            difference = metrics["j1: assisted − blind"]
            assert difference == charts.signed_text(j1["difference"]["value"])
            interval = charts.interval_text(charts.estimate_interval(j1, "difference"), signed=True)
            assert f"interval {interval}" in [c.value for c in ui.caption]
            signals = report["review_signals"]
            assert metrics["Acceptance (assisted)"] == f"{signals['overall']['acceptance']['value']:.3f}"
            assert metrics["other"] == "1"  # the adjudicated pair, no reason given
            # heatmap, judge bars overall and per criterion, a bias chart per judge, anchoring, 2 by rubric version
            assert len(ui.get("vega_lite_chart")) == 1 + 2 + len(report["judge_bias"]) + 1 + 2
            tables = [t.value for t in ui.dataframe]
            accepting = next(t for t in tables if "rubber-stamping" in t.columns)
            assert list(accepting["reviewer"]) == [row["annotator"] for row in signals["per_annotator"]]
            hotspots = next(t for t in tables if "human votes" in t.columns)
            assert list(hotspots["pair"]) == [h["pair"] for h in report["hotspots"]]
            assert hotspots["human votes"].iloc[0] == charts.votes_text(report["hotspots"][0]["votes"])
    finally:
        store.dispose()
