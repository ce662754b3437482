"""PandaLM's test set, imported into a real store: the published agreement figures come out of it.

Published in the PandaLM authors' README (github.com/WeOpenML/PandaLM, README.md):

- annotators' pairwise Cohen's kappa: #1–#2 0.85, #1–#3 0.88, #2–#3 0.86;
- label distribution of the test set (the annotators' majority): 105 ties (0), 422 response 1, 472 response 2;
- against that majority, in percent: gpt-3.5-turbo accuracy 71.07, precision 58.79, recall 57.36, F1 57.55;
  PandaLM-7B 66.77, 57.38, 57.50, 57.43 (precision / recall / F1 are macro averages over the three labels).

gpt-3.5-turbo's figures count its 25 unreadable ("garbage") outputs as ties, which is our default
(`failed="tie"`); leaving them out instead (`failed="exclude"`) scores it on 974 pairs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from server.agreement.models import AgreementReport, ReportOptions
from server.agreement.reports import agreement_report
from server.imports.service import import_path
from server.storage import Repository, Store
from tests.conftest import Api

PUBLISHED_KAPPAS = {
    ("annotator1", "annotator2"): 0.85,
    ("annotator1", "annotator3"): 0.88,
    ("annotator2", "annotator3"): 0.86,
}
PUBLISHED_JUDGES = {  # percent: accuracy, macro precision, macro recall, macro F1
    "gpt-3.5-turbo": (71.07, 58.79, 57.36, 57.55),
    "pandalm-7b": (66.77, 57.38, 57.50, 57.43),
}


def report_of(store: Store, **options: object) -> AgreementReport:
    with store.read() as session:
        repo = Repository(session)
        return agreement_report(repo, repo.project_by_name("pandalm").id, ReportOptions.model_validate(options))


def check_published(report: dict) -> None:
    kappas = {
        tuple(name.removeprefix("pandalm/") for name in row["annotators"]): round(row["cohen_kappa"]["value"], 2)
        for row in report["human_human"]["pairwise"]
    }
    assert kappas == PUBLISHED_KAPPAS
    assert report["counts"]["references"] == {"a": 422, "b": 472, "tie": 105}
    judges = {row["judge"]: row for row in report["judge_human"] if row["criterion"] is None}
    assert set(judges) == set(PUBLISHED_JUDGES)
    for judge, published in PUBLISHED_JUDGES.items():
        row = judges[judge]
        ours = tuple(
            round(100 * row[m]["value"], 2) for m in ("accuracy", "macro_precision", "macro_recall", "macro_f1")
        )
        assert ours == published, judge
        assert row["n"] == 999


@pytest.fixture
def pandalm_store(store: Store, pandalm_dir: Path) -> Store:
    import_path(store, pandalm_dir, project="pandalm")
    return store


def test_published_kappas_and_judge_scores_come_out_of_the_store(pandalm_store: Store) -> None:
    report = report_of(pandalm_store)
    check_published(report.model_dump(mode="json"))
    humans = report.human_human
    assert humans.n == humans.fleiss_n == 999 and humans.annotators == [f"pandalm/annotator{i}" for i in (1, 2, 3)]
    for estimate in (
        humans.krippendorff_alpha,
        humans.fleiss_kappa,
        *(p.cohen_kappa for p in humans.pairwise),
        *(j.accuracy for j in report.judge_human),
        *(j.cohen_kappa for j in report.judge_human),
    ):
        assert estimate.interval is not None and estimate.low < estimate.value < estimate.high
    gpt = next(j for j in report.judge_human if j.judge == "gpt-3.5-turbo")
    assert (gpt.failed, gpt.failed_as) == (25, "tie")
    assert (
        report.judge_bias[0].counts.both_orders == 0 and report.judge_bias[0].consistency.value is None
    )  # one order only
    assert report.anchoring == []  # imported rankings have no review mode
    assert len(report.hotspots) == 20 and all(h.disagreement > 0 or h.judges_disagreeing for h in report.hotspots)


def test_failed_judgements_can_be_left_out_instead(pandalm_store: Store) -> None:
    report = report_of(pandalm_store, failed="exclude", resamples=0)
    gpt = next(j for j in report.judge_human if j.judge == "gpt-3.5-turbo")
    assert (gpt.n, gpt.failed, gpt.failed_as) == (974, 25, "excluded")
    assert round(100 * gpt.accuracy.value, 2) == 71.56 and gpt.accuracy.interval is None
    pandalm = next(j for j in report.judge_human if j.judge == "pandalm-7b")
    assert (pandalm.n, round(100 * pandalm.accuracy.value, 2)) == (999, 66.77)


def test_intervals_repeat_with_the_seed_and_move_without_it(pandalm_store: Store) -> None:
    first, again = report_of(pandalm_store, resamples=200), report_of(pandalm_store, resamples=200)
    other = report_of(pandalm_store, resamples=200, seed=1)
    assert first.judge_human[0].cohen_kappa == again.judge_human[0].cohen_kappa
    assert first.judge_human[0].cohen_kappa.interval != other.judge_human[0].cohen_kappa.interval


def test_api_serves_the_report_to_members_only(api: Api, pandalm_dir: Path) -> None:
    import_path(api.store, pandalm_dir, project="pandalm")
    pid = api.client.get("/projects", headers=api.auth()).json()[0]["id"]
    reply = api.client.get(f"/projects/{pid}/agreement", headers=api.auth())
    assert reply.status_code == 200, reply.text
    check_published(reply.json())
    viewer, outsider = api.person("vic", "viewer", "pandalm"), api.person("out", "reviewer")
    assert api.client.get(f"/projects/{pid}/agreement", headers=api.auth(viewer)).status_code == 200
    hidden = api.client.get(f"/projects/{pid}/agreement", headers=api.auth(outsider))
    assert hidden.status_code == 404 and hidden.json()["error"]["message"] == f"project {pid} not found"
    assert api.client.get(f"/projects/{pid}/agreement").status_code == 401
    bad = api.client.get(f"/projects/{pid}/agreement", params={"criterion": "helpful"}, headers=api.auth())
    assert bad.status_code == 422 and "criterion: no ranking or verdict" in bad.json()["error"]["message"]
    bad = api.client.get(f"/projects/{pid}/agreement", params={"resamples": -1}, headers=api.auth())
    assert bad.status_code == 422 and bad.json()["error"]["detail"][0]["field"] == "query.resamples"
    missing = api.client.get(f"/projects/{pid}/agreement", params={"rubric": "hhh@9.0.0"}, headers=api.auth())
    assert missing.status_code == 404
    compare = api.client.get(
        f"/projects/{pid}/agreement/compare", params={"old": "hhh@1.0.0", "new": "hhh@9.0.0"}, headers=api.auth()
    )
    assert compare.status_code == 404 and "hhh" in compare.json()["error"]["message"]
    schema = api.client.get("/openapi.json").json()
    assert "AgreementReport" in schema["components"]["schemas"]


def test_cli_json_gives_the_published_figures_and_text_gives_tables(home: Path, pandalm_dir: Path) -> None:
    env = {**os.environ, "RUBRICATE_HOME": str(home)}
    env.pop("RUBRICATE_DATABASE_URL", None)

    def rubricate(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "server", *args]
        return subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)

    assert rubricate("init").returncode == 0
    assert rubricate("import", str(pandalm_dir), "--project", "pandalm", "--preset", "pandalm").returncode == 0
    reply = rubricate("agreement", "--project", "pandalm", "--json")
    assert reply.returncode == 0, reply.stderr
    check_published(json.loads(reply.stdout))
    text = rubricate("agreement", "--project", "pandalm", "--resamples", "100", "--hotspots", "3")
    assert text.returncode == 0, text.stderr
    for line in ("Judges against the reviewers' majority", "Cohen's kappa per pair of reviewers", "Hotspots"):
        assert line in text.stdout
    accuracy = next(line for line in text.stdout.splitlines() if line.strip().startswith("accuracy"))
    assert "0.711 [" in accuracy and "0.668 [" in accuracy
    for args, message in (
        (("agreement",), "error: --project: required"),
        (("agreement", "--project", "nope"), "error: project 'nope' not found"),
        (("agreement", "--project", "pandalm", "--criterion", "x"), "error: criterion: no ranking or verdict"),
        (("agreement", "--project", "pandalm", "--failed", "maybe"), "error: failed: Input should be"),
        (("agreement", "compare", "--project", "pandalm", "hhh@1.0.0", "hhh@1.0.1"), "error: rubric 'hhh'"),
    ):
        failed = rubricate(*args)
        assert failed.returncode == 2 and failed.stderr.startswith(message), (args, failed.stderr)
        assert len(failed.stderr.strip().splitlines()) == 1
