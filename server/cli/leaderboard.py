"""`rubricate leaderboard`: model comparisons from a project's labels (server/leaderboard)."""

from __future__ import annotations

from typing import Annotated

import typer

from server.cli.common import emit, out, store, user_errors
from server.leaderboard.models import Leaderboard, LeaderboardOptions
from server.leaderboard.stored import leaderboard as project_leaderboard
from server.storage import Repository


def _rate(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:5.1f}%"


def _print(board: Leaderboard) -> None:
    against = f"vs {board.baseline}" if board.baseline else "vs all"
    who = board.source + (f" ({board.judge})" if board.judge else "")
    left = board.left_out
    out.print(
        f"{board.project}: {board.comparisons} comparisons from {who} labels; left out: {left.unlabelled} unlabelled, "
        f"{left.unknown_model} of unknown models, {left.same_model} of one model; ties: {board.ties}"
    )
    out.print(f"{'model':<24} {'rating':>7} {'interval':>17} {'win ' + against:>14} {'LC':>7} {'n':>5}")
    for row in board.models:
        ci = f"[{row.rating_ci[0]:+.2f}, {row.rating_ci[1]:+.2f}]" if row.rating_ci else "—"
        out.print(
            f"{row.model:<24} {row.rating:+7.3f} {ci:>17} {_rate(row.win_rate):>14} {_rate(row.lc_win_rate):>7} "
            f"{row.comparisons:>5}"
        )
    for row in board.models:
        if row.ppi_win_rate is not None:
            ppi, human = row.ppi_win_rate.ppi, row.ppi_win_rate.human
            out.print(
                f"PPI++ {row.model}: {_rate(ppi.estimate)} [{_rate(ppi.low)}, {_rate(ppi.high)}] from "
                f"{row.ppi_win_rate.n_human} human + {row.ppi_win_rate.n_unlabelled} judge-only pairs; "
                f"human only {_rate(human.estimate)} [{_rate(human.low)}, {_rate(human.high)}]"
            )
    out.print("pairs (win, lose, tie) for a against b:")
    for pair in board.pairs:
        out.print(f"  {pair.a} vs {pair.b}: ({pair.win}, {pair.lose}, {pair.tie})")


def leaderboard(
    project: Annotated[str, typer.Option(help="Project name.")],
    source: Annotated[
        str, typer.Option(help="humans (adjudication, else strict majority) | judge | certified, as export reads them.")
    ] = "humans",
    judge: Annotated[str | None, typer.Option(help="Judge model for --source judge.")] = None,
    rubric: Annotated[str | None, typer.Option(help="Only labels under NAME@VERSION.")] = None,
    baseline: Annotated[str | None, typer.Option(help="Win rates against this model (else against all).")] = None,
    resamples: Annotated[int, typer.Option(help="Bootstrap resamples of the ratings' intervals (0: none).")] = 1000,
    confidence: Annotated[float, typer.Option(help="Coverage of the intervals.")] = 0.95,
    seed: Annotated[int, typer.Option(help="Seed of the bootstrap.")] = 0,
    calibration: Annotated[
        int | None, typer.Option(help="A routing calibration id: add PPI++ win rates from its judges' labels.")
    ] = None,
    delta: Annotated[float, typer.Option(help="PPI intervals at two-sided level 1−δ.")] = 0.1,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Per pair of models (win, lose, tie); per model a Bradley–Terry rating with its interval, win rate and
    AlpacaEval 2's length-controlled win rate."""
    with user_errors():
        options = LeaderboardOptions(
            source=source,  # type: ignore[arg-type]
            judge=judge,
            rubric=rubric,
            baseline=baseline,
            resamples=resamples,
            confidence=confidence,
            seed=seed,
            calibration=calibration,
            delta=delta,
        )
        with store().read() as session:
            repo = Repository(session)
            board = project_leaderboard(repo, repo.project_by_name(project).id, options)
    emit(board, as_json, lambda: _print(board))
