"""Model comparisons from PandaLM's labels, through a real store, beside the tables the PandaLM authors published.

Published in the PandaLM authors' README (github.com/WeOpenML/PandaLM, README.md, "Instruction tuned
foundation model comparisons", June 2023): (#win, #lose, #tie) of the row model against the column model,
from the human annotations, gpt-3.5-turbo and PandaLM-7B. The test set's `cmp_key` names the models.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from server.imports.service import import_path, import_rows
from server.leaderboard.models import Leaderboard, LeaderboardOptions
from server.leaderboard.stored import leaderboard
from server.storage import Repository, Store
from tests.conftest import Api

LLAMA, BLOOM, CEREBRAS, OPT, PYTHIA = "llama-7b", "bloom-7b", "cerebras-gpt-6.7B", "opt-7b", "pythia-6.9b"
PUBLISHED = {
    "humans": {
        (LLAMA, BLOOM): (72, 28, 11), (LLAMA, CEREBRAS): (80, 24, 6), (LLAMA, OPT): (71, 24, 11),
        (LLAMA, PYTHIA): (58, 27, 9), (BLOOM, CEREBRAS): (59, 30, 11), (BLOOM, OPT): (43, 35, 11),
        (BLOOM, PYTHIA): (49, 47, 11), (CEREBRAS, OPT): (33, 49, 9), (CEREBRAS, PYTHIA): (27, 53, 11),
        (OPT, PYTHIA): (32, 53, 15),
    },
    "gpt-3.5-turbo": {
        (LLAMA, BLOOM): (69, 32, 10), (LLAMA, CEREBRAS): (80, 24, 6), (LLAMA, OPT): (70, 29, 7),
        (LLAMA, PYTHIA): (60, 28, 6), (BLOOM, CEREBRAS): (67, 29, 4), (BLOOM, OPT): (46, 38, 5),
        (BLOOM, PYTHIA): (52, 48, 7), (CEREBRAS, OPT): (38, 45, 8), (CEREBRAS, PYTHIA): (28, 57, 6),
        (OPT, PYTHIA): (43, 53, 4),
    },
    "pandalm-7b": {
        (LLAMA, BLOOM): (57, 37, 17), (LLAMA, CEREBRAS): (75, 26, 9), (LLAMA, OPT): (60, 33, 13),
        (LLAMA, PYTHIA): (46, 41, 7), (BLOOM, CEREBRAS): (57, 31, 12), (BLOOM, OPT): (46, 36, 7),
        (BLOOM, PYTHIA): (51, 41, 15), (CEREBRAS, OPT): (37, 45, 9), (CEREBRAS, PYTHIA): (33, 52, 6),
        (OPT, PYTHIA): (40, 48, 12),
    },
}  # fmt: skip


def table(board: Leaderboard | dict) -> dict[tuple[str, str], tuple[int, int, int]]:
    """The pairs as (row, column) → (win, lose, tie) in the published orientation (row first in the paper)."""
    order = [LLAMA, BLOOM, CEREBRAS, OPT, PYTHIA]
    pairs = board.model_dump()["pairs"] if isinstance(board, Leaderboard) else board["pairs"]
    found = {}
    for p in pairs:
        if order.index(p["a"]) < order.index(p["b"]):
            found[p["a"], p["b"]] = (p["win"], p["lose"], p["tie"])
        else:
            found[p["b"], p["a"]] = (p["lose"], p["win"], p["tie"])
    return found


@pytest.fixture
def pandalm_store(store: Store, pandalm_dir: Path) -> Store:
    import_path(store, pandalm_dir, project="pandalm")
    return store


def board_of(store: Store, **options: object) -> Leaderboard:
    with store.read() as session:
        repo = Repository(session)
        return leaderboard(repo, repo.project_by_name("pandalm").id, LeaderboardOptions.model_validate(options))


def test_import_records_the_models_of_every_pair(pandalm_store: Store) -> None:
    with pandalm_store.read() as session:
        repo = Repository(session)
        sources = repo.pair_sources(repo.project_by_name("pandalm").id)
    assert len(sources) == 999
    assert all(set(meta["models"]) == {"a", "b"} for meta, _, _ in sources.values())
    assert {s for _, a, b in sources.values() for s in (a, b)} == {
        f"model:{m}" for m in (LLAMA, BLOOM, CEREBRAS, OPT, PYTHIA)
    }


def test_human_majority_gives_the_published_table_but_one_cell(pandalm_store: Store) -> None:
    board = board_of(pandalm_store, resamples=200)
    ours = table(board)
    assert board.comparisons == 999 and board.left_out.model_dump() == {
        "unlabelled": 0,
        "unknown_model": 0,
        "same_model": 0,
    }
    # The test set's own labels give Bloom–Pythia 47–49; the published cell has win and lose swapped.
    assert ours == PUBLISHED["humans"] | {(BLOOM, PYTHIA): (47, 49, 11)}
    assert [row.model for row in board.models] == [LLAMA, PYTHIA, BLOOM, OPT, CEREBRAS]
    for row in board.models:
        assert row.rating_ci is not None and row.rating_ci[0] < row.rating < row.rating_ci[1]
    llama, cerebras = board.models[0], board.models[-1]
    assert llama.rating_ci[0] > max(row.rating_ci[1] for row in board.models[1:])  # clearly first
    assert cerebras.rating_ci[1] < min(row.rating_ci[0] for row in board.models[:-2])  # below all but OPT
    assert (llama.wins, llama.losses, llama.ties, llama.comparisons) == (281, 103, 37, 421)
    assert llama.win_rate == pytest.approx((281 + 37 / 2) / 421)


def test_judges_give_the_published_tables(pandalm_store: Store) -> None:
    assert table(board_of(pandalm_store, source="judge", judge="pandalm-7b", resamples=0)) == PUBLISHED["pandalm-7b"]
    gpt = board_of(pandalm_store, source="judge", judge="gpt-3.5-turbo", resamples=0)
    # The export's rule leaves GPT-3.5's 25 unreadable outputs out; the authors counted them as ties.
    assert (gpt.comparisons, gpt.left_out.unlabelled) == (974, 25)
    ours, published = table(gpt), PUBLISHED["gpt-3.5-turbo"]
    assert {k: v[:2] for k, v in ours.items()} == {k: v[:2] for k, v in published.items()}
    assert sum(published[k][2] - ours[k][2] for k in published) == 25


def test_baseline_win_rates_and_refusals(pandalm_store: Store) -> None:
    board = board_of(pandalm_store, baseline=LLAMA, resamples=0)
    rows = {row.model: row for row in board.models}
    assert rows[LLAMA].win_rate is None and rows[LLAMA].lc_win_rate is None
    assert rows[BLOOM].win_rate == pytest.approx((28 + 11 / 2) / 111)
    assert 0 < rows[BLOOM].lc_win_rate < 1
    with pytest.raises(ValueError, match="--baseline: 'gpt-9'"):
        board_of(pandalm_store, baseline="gpt-9", resamples=0)
    with pytest.raises(ValueError, match="--judge: name the judge"):
        board_of(pandalm_store, source="judge", resamples=0)


def test_generic_rows_name_models_with_fields_or_map_and_drafts_by_source(store: Store) -> None:
    rows = [
        ("r1", {"q": "Q1", "x": "A1", "y": "B1", "ma": "m1", "mb": "m2", "lab": "a"}),
        ("r2", {"q": "Q2", "x": "A2", "y": "B2", "ma": "m2", "mb": "m1", "lab": "tie"}),
        ("r3", {"q": "Q3", "x": "A3", "y": "B3", "lab": "b"}),  # no models: left out
    ]
    mapping = {
        "prompt": "q",
        "response_a": "x",
        "response_b": "y",
        "model_a": "ma",
        "model_b": "mb",
        "labels.ann": "lab",
    }
    import_rows(store, rows, project="gen", mapping=mapping)
    with store.write() as session:  # a drafted pair: both responses' source is model:NAME, the pair names none
        repo = Repository(session)
        project = repo.project_by_name("gen")
        prompt = repo.add_prompt(project.id, [{"role": "user", "content": "Q4"}], is_chat=False)
        a = repo.add_response(prompt.id, "d1 says", source="model:d1")
        b = repo.add_response(prompt.id, "m1 says", source="model:m1")
        pair = repo.add_pair(project.id, prompt.id, a, b, key="draft:x")
        annotator = repo.annotator_by_name("gen/ann")
        repo.add_ranking(project_id=project.id, pair_id=pair.id, annotator_id=annotator.id, outcome="a")
    with store.read() as session:
        repo = Repository(session)
        board = leaderboard(repo, repo.project_by_name("gen").id, LeaderboardOptions(resamples=0))
    assert [p.model_dump() for p in board.pairs] == [
        {"a": "d1", "b": "m1", "win": 1, "lose": 0, "tie": 0},
        {"a": "m1", "b": "m2", "win": 1, "lose": 0, "tie": 1},
    ]  # d1 beat m1; m1 beat m2 once (r1) and tied once (r2, m1 on side b)
    assert board.left_out.unknown_model == 1 and board.comparisons == 3


def test_cli_and_api_print_the_leaderboard_json(api: Api, home: Path, pandalm_dir: Path) -> None:
    env = {**os.environ, "RUBRICATE_HOME": str(home)}
    env.pop("RUBRICATE_DATABASE_URL", None)

    def rubricate(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "server", *args], capture_output=True, text=True, env=env, timeout=300
        )

    assert rubricate("init").returncode == 0
    assert rubricate("import", str(pandalm_dir), "--project", "pandalm").returncode == 0
    reply = rubricate("leaderboard", "--project", "pandalm", "--source", "judge", "--judge", "pandalm-7b", "--json")
    assert reply.returncode == 0, reply.stderr
    board = json.loads(reply.stdout)
    assert table(board) == PUBLISHED["pandalm-7b"]
    assert set(board["models"][0]) >= {"model", "rating", "rating_ci", "win_rate", "lc_win_rate"}
    assert set(board["pairs"][0]) == {"a", "b", "win", "lose", "tie"}
    text = rubricate("leaderboard", "--project", "pandalm", "--resamples", "50")
    assert text.returncode == 0 and "llama-7b vs bloom-7b: (72, 28, 11)" in text.stdout
    failed = rubricate("leaderboard", "--project", "pandalm", "--source", "votes")
    assert failed.returncode == 2 and "error: source:" in failed.stderr

    import_path(api.store, pandalm_dir, project="pandalm")
    pid = api.client.get("/projects", headers=api.auth()).json()[0]["id"]
    params = {"source": "judge", "judge": "pandalm-7b", "resamples": 0}
    served = api.client.get(f"/projects/{pid}/leaderboard", params=params, headers=api.auth())
    assert served.status_code == 200 and table(served.json()) == PUBLISHED["pandalm-7b"]
    bad = api.client.get(f"/projects/{pid}/leaderboard", params={"source": "judge"}, headers=api.auth())
    assert bad.status_code == 422 and "--judge" in bad.json()["error"]["message"]


def test_prediction_powered_win_rates_with_a_routing_calibration(store: Store, pandalm_dir: Path) -> None:
    """Half of PandaLM keeps its human labels; PandaLM-7B labels every pair; PPI++ corrects it with the half."""
    from server.imports.pandalm import read_pandalm
    from server.routing.service import CalibrateRequest, calibrate_project

    rows = []
    for location, row in read_pandalm(pandalm_dir):
        kept = int(row["id"]) % 2 == 0
        rows.append((location, row if kept else {**row, "labels": {}}))
    import_rows(store, rows, project="pandalm")
    with store.read() as session:
        pid = Repository(session).project_by_name("pandalm").id
    record = calibrate_project(store, pid, CalibrateRequest(judges=["pandalm-7b"], alpha=0.3, delta=0.1))
    board = board_of(store, calibration=int(record.calibration), resamples=0)
    humans_only = board_of(store, resamples=0)  # the labelled half alone
    assert board.calibration == int(record.calibration) and humans_only.comparisons == board.comparisons
    full = {  # each model's human win rate over all 999 pairs, which the half-labelled store cannot see
        LLAMA: (281 + 37 / 2) / 421,
    }
    for row in board.models:
        rate = row.ppi_win_rate
        assert rate is not None and rate.n_human == row.comparisons
        assert (
            rate.n_human + rate.n_unlabelled
            == {LLAMA: 421, BLOOM: 407, CEREBRAS: 392, OPT: 386, PYTHIA: 392}[row.model]
        )
        assert rate.ppi.low < rate.ppi.estimate < rate.ppi.high
        assert rate.ppi.high - rate.ppi.low < rate.human.high - rate.human.low  # the judge's labels narrow it
    llama = board.models[0].ppi_win_rate
    assert board.models[0].model == LLAMA and llama.ppi.low < full[LLAMA] < llama.ppi.high
