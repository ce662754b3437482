"""`rubricate agreement`: how far reviewers agree with each other and with the judges, as tables or JSON.

rubricate agreement --project P [--rubric NAME@VER] [--criterion C] [--json]   (stored until labels change)
rubricate agreement compare --project P NAME@V1 NAME@V2 [--json]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from server.agreement.models import AgreementReport, CompareReport, Estimate, ReportOptions
from server.agreement.reports import compare_report
from server.cli.common import JsonOpt, emit, fail, out, progress_bar, store, user_errors
from server.cli.review_signals import print_signals
from server.jobs.agreement import served_report
from server.storage import Repository

app = typer.Typer(
    help="Agreement: reviewers with each other, judges with reviewers, judge bias, anchoring.",
    invoke_without_command=True,
    rich_markup_mode=None,
)

ProjectOpt = Annotated[str | None, typer.Option("--project", help="Project name.")]
CriterionOpt = Annotated[str | None, typer.Option(help="Score this criterion's outcomes instead of the overall.")]
FailedOpt = Annotated[str, typer.Option(help="tie (a failed judgement counts as a tie) | exclude")]
ResamplesOpt = Annotated[int, typer.Option(help="Bootstrap resamples for the intervals (0: none).")]
SeedOpt = Annotated[int, typer.Option(help="Seed of the bootstrap.")]


def _f(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def _ci(estimate: Estimate) -> str:
    """An estimate as `value [low, high]` (or its value alone without an interval)."""
    value, interval = estimate.value, estimate.interval
    if value is None:
        return "—"
    return f"{value:.3f} [{interval[0]:.3f}, {interval[1]:.3f}]" if interval else f"{value:.3f}"


def _table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 1))
    for number, column in enumerate(columns):
        table.add_column(escape(column), justify="left" if number == 0 else "right", no_wrap=number == 0)
    for row in rows:
        table.add_row(*(escape(str(cell)) for cell in row))
    out.print(table)


def _by_judge(title: str, judges: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """One row per metric, one column per judge: narrow enough for a terminal with a few judges."""
    _table(title, ["", *judges], rows)


def print_report(report: AgreementReport) -> None:
    """The report as tables for people."""
    scope = ", ".join(
        part
        for part in (report.rubric and f"rubric {report.rubric}", report.criterion and f"criterion {report.criterion}")
        if part
    )
    counts, settings = report.counts, report.settings
    out.print(
        f"agreement in {report.project.name}{f' ({scope})' if scope else ''}: {counts.pairs} pairs, "
        f"{counts.rankings} rankings by {counts.annotators} annotators, {counts.verdicts} verdicts by "
        f"{counts.judges} judges. [low, high]: {settings.confidence:.0%} bootstrap interval over pairs "
        f"({settings.resamples} resamples, seed {settings.seed}).",
        markup=False,
    )
    if report.stored:
        stored = report.stored
        out.print(
            f"computed {stored.computed_at:%Y-%m-%d %H:%M:%S} by job {stored.job} (read {stored.read_s:.1f} s, "
            f"compute {stored.compute_s:.1f} s); stored until the labels change.",
            markup=False,
        )
    _print_humans(report)
    _print_judges(report)
    _print_bias(report)
    _print_anchoring(report)
    print_signals(report, _table)
    _print_annotators(report)
    _print_versions(report)
    _print_hotspots(report)
    _print_audit(report)
    _print_pointwise(report)


def _print_pointwise(report: AgreementReport) -> None:
    """Pointwise scores: each judge against people's reference, per criterion, at the ordinal level."""
    for judge in dict.fromkeys(p.judge for p in report.pointwise):
        rows = [p for p in report.pointwise if p.judge == judge]
        _table(
            f"Pointwise scores of {judge} ({rows[0].rubric}) vs people's lower median",
            ["criterion", "n", "people", "exact", "w. kappa", "alpha +judge", "alpha people"],
            [
                (
                    f"{p.criterion or 'overall'} 1..{p.levels}",
                    p.n,
                    p.annotators,
                    _f(p.exact),
                    _ci(p.weighted_kappa),
                    _f(p.krippendorff_alpha_with_judge),
                    _f(p.krippendorff_alpha_humans),
                )
                for p in rows
            ],
        )


def _print_audit(report: AgreementReport) -> None:
    """Certified routing: agreement with reviewers on the audited accepted pairs, per calibration."""
    if not report.audit:
        return
    rows = [
        (
            f"calibration {a.calibration} (alpha {a.alpha}, delta {a.delta})",
            a.accepted,
            a.audited,
            "—"
            if a.disagreement is None
            else f"{a.disagreement.value:.3f} [{a.disagreement.low:.3f}, {a.disagreement.high:.3f}]",
            "CONTRADICTED: disagreement above alpha" if a.contradicted else "holds",
        )
        for a in report.audit
    ]
    _table(
        "Audit of accepted judge labels: disagreement [exact bounds at 1-delta each]",
        ["calibration", "accepted", "audited", "disagreement", "promise"],
        rows,
    )


def _print_humans(report: AgreementReport) -> None:
    """Reviewers with each other, per pair and per criterion."""
    humans = report.human_human
    _table(
        "Reviewers with each other",
        ["", "n", "value [interval]"],
        [
            ["Fleiss' kappa", humans.fleiss_n, _ci(humans.fleiss_kappa)],
            ["Krippendorff's alpha", humans.n, _ci(humans.krippendorff_alpha)],
            ["percent agreement", humans.n, _ci(humans.percent_agreement)],
        ],
    )
    if humans.pairwise:
        _table(
            "Cohen's kappa per pair of reviewers",
            ["annotator", "other", "n", "kappa [interval]", "agree"],
            [[*p.annotators, p.n, _ci(p.cohen_kappa), _f(p.percent_agreement)] for p in humans.pairwise],
        )
    for criterion in humans.criteria:
        _table(
            f"Reviewers on criterion {criterion.criterion}",
            ["", "n", "value [interval]"],
            [
                ["Fleiss' kappa", criterion.fleiss_n, _ci(criterion.fleiss_kappa)],
                [
                    "Krippendorff's alpha",
                    criterion.n,
                    _ci(criterion.krippendorff_alpha),
                ],
            ],
        )


def _print_judges(report: AgreementReport) -> None:
    """Each judge against the reviewers' majority, overall and per criterion."""
    for criterion in dict.fromkeys(j.criterion for j in report.judge_human):
        rows = [j for j in report.judge_human if j.criterion == criterion]
        label = "reviewers' majority" + (f", criterion {criterion}" if criterion else "")
        _by_judge(
            f"Judges against the {label}",
            [j.judge for j in rows],
            [
                ["rubric", *(j.rubric or "—" for j in rows)],
                ["pairs", *(j.n for j in rows)],
                ["failed", *(f"{j.failed} ({'as tie' if j.failed_as == 'tie' else 'left out'})" for j in rows)],
                *(
                    [name, *(_ci(getattr(j, metric)) for j in rows)]
                    for name, metric in (
                        ("accuracy", "accuracy"),
                        ("macro precision", "macro_precision"),
                        ("macro recall", "macro_recall"),
                        ("macro F1", "macro_f1"),
                        ("Cohen's kappa", "cohen_kappa"),
                    )
                ),
                ["alpha, judge added", *(_f(j.krippendorff_alpha_with_judge) for j in rows)],
            ],
        )


def _print_bias(report: AgreementReport) -> None:
    """Position and length bias per judge."""
    if report.judge_bias:
        bias = report.judge_bias
        _by_judge(
            "Judge bias",
            [b.judge for b in bias],
            [
                ["pairs judged", *(b.n for b in bias)],
                ["both orders", *(b.counts.both_orders for b in bias)],
                *(
                    [name, *(_ci(getattr(b, metric)) for b in bias)]
                    for name, metric in (
                        ("consistency", "consistency"),
                        ("first position wins", "first_position_rate"),
                        ("longer wins, judge", "longer_wins_judge"),
                        ("longer wins, humans", "longer_wins_humans"),
                    )
                ),
            ],
        )


def _print_anchoring(report: AgreementReport) -> None:
    """Agreement with the judge shown, assisted vs blind."""
    for a in report.anchoring:
        _table(
            f"Anchoring: agreement with {a.judge} when shown (assisted) or not (blind)",
            ["annotator", "assisted", "blind", "assisted − blind [interval]"],
            [
                [
                    "all",
                    f"{_f(a.assisted.value)} of {a.counts['assisted']}",
                    f"{_f(a.blind.value)} of {a.counts['blind']}",
                    _ci(a.difference),
                ],
                *(
                    [
                        p.annotator,
                        f"{_f(p.assisted.value)} of {p.counts['assisted']}",
                        f"{_f(p.blind.value)} of {p.counts['blind']}",
                        _ci(p.difference),
                    ]
                    for p in a.per_annotator
                ),
            ],
        )


def _print_annotators(report: AgreementReport) -> None:
    """One row per reviewer."""
    if report.annotators:
        _table(
            "Reviewers",
            ["annotator", "n", "ties", "median s", "agree", "kappa", "gold"],
            [
                [
                    a.annotator,
                    a.n,
                    _f(a.tie_rate),
                    "—" if a.median_seconds is None else f"{a.median_seconds:.1f}",
                    _f(a.agreement_with_others),
                    _f(a.kappa_with_others),
                    f"{_f(a.gold_accuracy)} of {a.gold_n}" if a.gold_n else "—",
                ]
                for a in report.annotators
            ],
        )
        out.print(
            "agree: share of the others' votes on shared pairs that agree; kappa: against the others' majority",
            markup=False,
        )


def _print_versions(report: AgreementReport) -> None:
    """Judges under each rubric version."""
    if len(report.rubric_versions) > 1:
        _table(
            "By rubric version",
            ["rubric", "rankings", "verdicts", "humans' alpha", "judge", "n", "accuracy", "kappa"],
            [
                [
                    v.rubric or "(none)",
                    v.rankings,
                    v.verdicts,
                    _f(v.krippendorff_alpha),
                    j.judge,
                    j.n,
                    _f(j.accuracy),
                    _f(j.cohen_kappa),
                ]
                for v in report.rubric_versions
                for j in v.judges
            ],
        )


def _print_hotspots(report: AgreementReport) -> None:
    """The pairs with the most disagreement."""
    if report.hotspots:
        judges = sorted({j for h in report.hotspots for j in h.judges})
        _table(
            f"Hotspots: the {len(report.hotspots)} pairs with the most disagreement",
            ["pair", "a/b/tie", "majority", *judges, "split"],
            [
                [
                    h.pair,
                    "/".join(str(h.votes[o]) for o in ("a", "b", "tie")),
                    h.reference or "—",
                    *(("failed" if h.judges[j] is None else h.judges[j]) if j in h.judges else "—" for j in judges),
                    f"{h.disagreement:.2f}",
                ]
                for h in report.hotspots
            ],
        )


def print_compare(report: CompareReport) -> None:
    out.print(f"{report.project.name}: {report.old} → {report.new}", markup=False)
    if not report.judges:
        out.print("no judge has verdicts under both versions on pairs with a human reference", markup=False)
        return
    rows = []
    for j in report.judges:
        for metric in ("accuracy", "macro_f1", "cohen_kappa"):
            change, interval = getattr(j.change, metric).value, getattr(j.change, metric).interval
            sign = "" if change is None or change < 0 else "+"
            shown = "—" if change is None else f"{sign}{change:.3f}"
            if interval and change is not None:
                shown += f" [{interval[0]:+.3f}, {interval[1]:+.3f}]"
            rows.append([j.judge, metric, j.n, _f(getattr(j.old, metric)), _f(getattr(j.new, metric)), shown])
        rows.append(["", f"fixed {j.fixed}, broken {j.broken}", "", "", "", ""])
    _table("Judge vs reviewers, old → new", ["judge", "metric", "n", "old", "new", "change"], rows)


def _options(**fields: Any) -> ReportOptions:
    return ReportOptions.model_validate(fields)


@app.callback(invoke_without_command=True)
def report(
    ctx: typer.Context,
    project: ProjectOpt = None,
    rubric: Annotated[str | None, typer.Option(help="NAME@VERSION (or NAME: its newest version).")] = None,
    criterion: CriterionOpt = None,
    failed: FailedOpt = "tie",
    resamples: ResamplesOpt = 1000,
    seed: SeedOpt = 0,
    hotspots: Annotated[int, typer.Option(help="How many disagreement hotspots to list.")] = 20,
    as_json: JsonOpt = False,
) -> None:
    """The agreement report of a project (see `rubricate agreement compare --help` for rubric versions).

    A report is stored with its labels' fingerprint and printed from storage until the labels change;
    then the agreement job recomputes it.
    """
    if ctx.invoked_subcommand is not None:
        return
    if project is None:
        fail("--project: required (the project to report on)")
    db = store()
    with user_errors():
        options = _options(
            rubric=rubric, criterion=criterion, failed=failed, resamples=resamples, seed=seed, hotspots=hotspots
        )
        with db.read() as session:
            project_id = Repository(session).project_by_name(project).id
        with progress_bar("reading pairs", not as_json) as update:
            result = served_report(db, project_id, options, progress=update)
    emit(result, as_json, lambda: print_report(result))


@app.command()
def compare(
    old: Annotated[str, typer.Argument(help="NAME@VERSION before the edit.")],
    new: Annotated[str, typer.Argument(help="NAME@VERSION after the edit.")],
    project: ProjectOpt = None,
    criterion: CriterionOpt = None,
    failed: FailedOpt = "tie",
    resamples: ResamplesOpt = 1000,
    seed: SeedOpt = 0,
    as_json: JsonOpt = False,
) -> None:
    """Each judge's change in agreement with the reviewers from OLD to NEW, with a paired interval."""
    if project is None:
        fail("--project: required (the project to compare in)")
    db = store()
    with user_errors():
        options = _options(criterion=criterion, failed=failed, resamples=resamples, seed=seed)
        with db.read() as session, progress_bar("reading pairs", not as_json) as update:
            repo = Repository(session)
            result = compare_report(repo, repo.project_by_name(project).id, old, new, options, update)
    emit(result, as_json, lambda: print_compare(result))
