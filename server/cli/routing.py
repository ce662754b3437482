"""`rubricate calibrate | route | estimate`: certified routing of a project's pairs (server/routing)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from server.cli.common import JsonOpt, emit, out, progress_bar, store, user_errors
from server.routing.labelled import SIGNALS
from server.routing.service import CalibrateRequest, calibrate_project, estimate_project, route_project
from server.storage import Repository

ProjectOpt = Annotated[str, typer.Option(help="Project name.")]
CalibrationOpt = Annotated[int, typer.Option("--calibration", help="A calibration id (rubricate calibrate prints it).")]


def _project_id(name: str) -> int:
    with store().read() as session:
        return Repository(session).project_by_name(name).id


def _bound(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def calibrate(
    project: ProjectOpt,
    judge: Annotated[list[str], typer.Option("--judge", help="Judge model; repeat for a cascade, cheapest first.")],
    alpha: Annotated[float, typer.Option(help="Largest disagreement rate with the human reference to certify.")],
    delta: Annotated[float, typer.Option(help="The guarantee holds with probability at least 1−δ (per judge).")],
    rubric: Annotated[str | None, typer.Option(help="Only verdicts under NAME@VERSION.")] = None,
    signal: Annotated[str, typer.Option(help=f"Confidence signal: {' | '.join(SIGNALS)}.")] = "order",
    min_n: Annotated[int, typer.Option("--min-n", help="Fewest calibration pairs a threshold may rest on.")] = 30,
    include_assisted: Annotated[
        bool, typer.Option("--include-assisted", help="Also count rankings made in assisted mode.")
    ] = False,
    promise: Annotated[
        str,
        typer.Option(help="population (the judge's disagreement rate) | routed (the pairs without a reference now)"),
    ] = "population",
    as_json: JsonOpt = False,
) -> None:
    """Calibrate a confidence threshold per judge on the human-labelled pairs; stores an immutable record."""
    with user_errors():
        request = CalibrateRequest(
            judges=judge,
            rubric=rubric,
            signal=signal,
            alpha=alpha,
            delta=delta,
            min_n=min_n,
            include_assisted=include_assisted,
            promise=promise,
        )
        project_id = _project_id(project)
        with progress_bar("reading labels", not as_json) as update:
            record = calibrate_project(store(), project_id, request, progress=update)

    def text() -> None:
        out.print(
            f"calibration {record.calibration} of {project}: {record.n_calibration} human-labelled pairs "
            f"({record.labels.fingerprint[:12]}), alpha {record.alpha}, delta {record.delta}, signal {record.signal}"
        )
        if not record.certified:
            out.print(
                f"nothing could be certified: no threshold keeps the disagreement bound at or below {record.alpha} "
                f"with {record.min_n} or more calibration pairs; every pair will be escalated to reviewers."
            )
        for found in record.judges:
            if found.threshold is None:
                out.print(f"  {found.judge}: no threshold ({found.n_calibration} calibration pairs reached it)")
            else:
                out.print(
                    f"  {found.judge}: threshold {found.threshold:g}, accepts {found.accepted} of "
                    f"{found.n_calibration} calibration pairs, disagreement ≤ {_bound(found.risk_upper_bound)} "
                    f"at {1 - record.delta:.0%}"
                )

    emit(record.model_dump(mode="json", exclude={"labels": {"pairs"}}), as_json, text)


def route(
    project: ProjectOpt,
    calibration: CalibrationOpt,
    decisions: Annotated[
        Path | None, typer.Option("--decisions", help="Write one JSON line per routed pair to this file.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Accept each pair without a human reference by a certified judge, or escalate it to reviewers."""
    with user_errors():
        project_id = _project_id(project)
        with progress_bar("reading labels", not as_json) as update:
            result = route_project(store(), project_id, calibration, progress=update)
        if decisions is not None:
            with decisions.open("w", encoding="utf-8") as handle:
                for line in result.decisions:
                    keep = {"id", "status", "judge", "outcome", "confidence"}
                    handle.write(json.dumps(line.model_dump(mode="json", include=keep)) + "\n")

    def text() -> None:
        judges = ", ".join(f"{judge} {n}" for judge, n in result.by_judge.items()) or "none"
        out.print(
            f"routed {result.pairs} pairs of {project} under calibration {result.calibration}: "
            f"{result.accepted} accepted ({result.coverage:.1%}; {judges}), {result.escalated} escalated to reviewers"
        )

    emit(result.model_dump(mode="json", exclude={"decisions"}), as_json, text)


def estimate(
    project: ProjectOpt,
    calibration: CalibrationOpt,
    delta: Annotated[float, typer.Option(help="Intervals at two-sided level 1−δ.")] = 0.1,
    as_json: JsonOpt = False,
) -> None:
    """Outcome shares with PPI++ intervals (judge labels on every pair, corrected by the human ones)."""
    with user_errors():
        project_id = _project_id(project)
        with progress_bar("reading labels", not as_json) as update:
            report = estimate_project(store(), project_id, calibration, delta=delta, progress=update)

    def text() -> None:
        out.print(
            f"outcome shares of {project} ({report.n_human} human-labelled, {report.n_unlabelled} judge-labelled "
            f"pairs; judge {report.judge}; {1 - report.delta:.0%} intervals)"
        )
        for share in report.shares:
            out.print(
                f"  {share.outcome:<3}  PPI++ {share.ppi.estimate:.3f} [{share.ppi.low:.3f}, {share.ppi.high:.3f}]"
                f"  human-only {share.human.estimate:.3f} [{share.human.low:.3f}, {share.human.high:.3f}]"
                f"  judge-only {share.judge:.3f}"
            )
        out.print(f"the judge was worth {report.effective_human_labels:.0f} human labels ({report.n_human} used)")

    emit(report, as_json, text)
