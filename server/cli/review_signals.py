"""`rubricate agreement` text: how reviewers treat the judge's suggestions, and the error taxonomy."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from server.agreement.models import Acceptance, AgreementReport, Estimate
from server.agreement.review_signals import CATEGORIES
from server.cli.common import out


def _share(estimate: Estimate, of: int) -> str:
    return "—" if estimate.value is None else f"{estimate.value:.3f} of {of}"


def _excess(estimate: Estimate) -> str:
    if estimate.value is None:
        return "—"
    interval = estimate.interval
    return f"{estimate.value:+.3f} [{interval[0]:+.3f}, {interval[1]:+.3f}]" if interval else f"{estimate.value:+.3f}"


def _seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f}"


def _row(row: Acceptance) -> list[str]:
    return [
        row.annotator or "all",
        _share(row.acceptance, row.counts["assisted"]),
        _share(row.blind_agreement, row.counts["blind"]),
        _excess(row.excess),
        f"{_seconds(row.seconds_accepting)} / {_seconds(row.seconds_overriding)}",
        "RUBBER-STAMPING" if row.rubber_stamp else "",
    ]


Table = Callable[[str, Sequence[str], Sequence[Sequence[Any]]], None]  # server.cli.agreement's table printer


def print_signals(report: AgreementReport, table: Table) -> None:
    """Acceptance per reviewer against blind agreement, then skips and adjudications by reason and version."""
    signals = report.review_signals
    if signals is None:
        return
    if signals.overall is not None:
        table(
            "The judge's suggestions: accepted when shown (assisted) vs agreed with when not (blind)",
            ["annotator", "acceptance", "blind agreement", "excess [interval]", "median s accept / override", ""],
            [_row(signals.overall), *(_row(r) for r in signals.per_annotator)],
        )
    if any(signals.taxonomy.values()):
        rows = [
            [row.rubric or "no rubric", row.assignments]
            + [f"{row.skips[c]} + {row.adjudications[c]}" for c in CATEGORIES]
            for row in signals.by_rubric
        ]
        table("Error taxonomy: skips + adjudications by reason", ["rubric", "assignments", *CATEGORIES], rows)
    if signals.rubber_stamping:
        out.print(f"rubber-stamping: {', '.join(signals.rubber_stamping)}", markup=False)
