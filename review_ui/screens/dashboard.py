"""Dashboard: how much people agree with each other and with the judges, shown as charts.

- reviewers × reviewers: a Cohen's kappa heatmap, plus Fleiss' kappa and Krippendorff's alpha;
- judge vs humans: accuracy, macro precision/recall/F1 and kappa per judge (and per criterion);
- judge bias: consistency across the two presentation orders, first-position wins, longer-response wins;
- anchoring: reviewers' agreement with the judge in assisted vs blind mode;
- the judge's suggestions: each reviewer's acceptance of the suggestion shown against their blind agreement
  with it (rubber-stamping flagged), time on item accepting vs overriding, and skips and adjudications as
  an error taxonomy per rubric version (``review_signals``; review_ui/signals_charts.py reshapes it);
- hotspots: the pairs people split on, or judges disagree with them about;
- rubric versions: the judge metrics for each rubric version judges were run with, side by side;
- models (once pairs name the models that wrote them): the leaderboard from the reviewers' labels —
  Bradley–Terry rating with its interval, win rate and length-controlled win rate, and (win, lose, tie)
  per pair of models (``GET /projects/{id}/leaderboard``);
- routing (once the project is routed): coverage per judge, the certified bound, human labels saved, and
  the audit of accepted judge labels (``GET /projects/{id}/routing`` and the report's ``audit``).

Numbers come from the API's agreement report (``AgreementReport`` in server/agreement/reports.py);
nothing is computed here, review_ui/charts.py only reshapes it.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from review_ui import charts, signals_charts
from review_ui.client import ApiError
from review_ui.safe_text import no_remote_images
from review_ui.session import client, project, show_error

PER_ROW = 2  # judge bias charts side by side


def _metric(column: Any, label: str, estimate: Any, confidence: float = 0.95) -> None:
    """One estimate (``{"value", "low", "high"}``) as a metric tile, its interval in the help text."""
    estimate = estimate or {}
    value = estimate.get("value")
    interval = charts.interval_text(charts.estimate_interval({"x": estimate}, "x"))
    hint = f"{confidence:.0%} interval: {interval}" if interval else None
    column.metric(label, f"{value:.3f}" if isinstance(value, int | float) else "—", help=hint)


def counts_line(report: dict[str, Any]) -> str:
    """What the report counts, in one caption line."""
    counts = report.get("counts") or {}
    parts = [
        f"{counts.get('pairs', 0)} pairs",
        f"{counts.get('rankings', 0)} rankings",
        f"{counts.get('annotators', 0)} reviewers",
        f"{counts.get('judges', 0)} judges",
        f"human reference {charts.votes_text(counts.get('references'))}",
    ]
    settings = report.get("settings") or {}
    if settings.get("resamples"):
        parts.append(f"intervals: {settings['confidence']:.0%} bootstrap over pairs")
    return " · ".join(parts)


def human_section(report: dict[str, Any], confidence: float) -> None:
    st.subheader("Reviewers with each other")
    humans = report.get("human_human") or {}
    cols = st.columns(4)
    _metric(cols[0], "Fleiss' κ", humans.get("fleiss_kappa"), confidence)
    _metric(cols[1], "Krippendorff's α", humans.get("krippendorff_alpha"), confidence)
    _metric(cols[2], "Same outcome", humans.get("percent_agreement"), confidence)
    cols[3].metric("Reviewers", len(report.get("annotators") or []) or "—")
    pairwise = humans.get("pairwise") or []
    if pairwise:
        st.altair_chart(charts.kappa_heatmap(pairwise), width="content")
        st.caption(
            "Cohen's κ for every two reviewers over the pairs both ranked: 1 is full agreement, 0 is chance, "
            "below 0 worse than chance. Hover a cell for full names, its interval and the number of pairs."
        )
    else:
        st.caption("No two reviewers have ranked the same pairs yet.")
    if report.get("annotators"):
        with st.expander("Reviewers one by one"):
            st.dataframe(charts.annotator_table(report["annotators"]), hide_index=True, width="stretch")


def judge_section(report: dict[str, Any]) -> None:
    st.subheader("Judges against reviewers")
    table = charts.judge_table(report.get("judge_human") or [])
    if table.empty:
        st.caption("No judge verdicts on pairs that reviewers ranked.")
        return
    st.caption(
        "Each judge against the human reference (the adjudicated outcome, else the reviewers' strict majority); "
        "black lines are intervals."
    )
    judges = sorted(table["judge"].unique())
    overall = table[table["criterion"] == "overall"]
    if not overall.empty:
        st.altair_chart(charts.judge_bars(overall, judges=judges), width="stretch")
    for criterion, rows in table[table["criterion"] != "overall"].groupby("criterion", sort=True):
        st.altair_chart(charts.judge_bars(rows, title=f"Criterion: {criterion}", judges=judges), width="stretch")
    with st.expander("Judge metrics as a table"):
        st.dataframe(
            table.pivot_table(index=["judge", "criterion", "n"], columns="metric", values="value", sort=False)
            .round(3)
            .reset_index(),
            hide_index=True,
            width="stretch",
        )


def bias_section(report: dict[str, Any]) -> None:
    st.subheader("Judge position and length bias")
    rows = report.get("judge_bias") or []
    if not rows:
        st.caption("No judge verdicts yet.")
        return
    st.caption(
        "Same outcome in both orders: the share of pairs judged both ways round with one answer. "
        "First shown wins: the share of decisive verdicts won by the response shown first; the dashed line "
        "at 0.5 is no position bias. Longer wins: how often the longer response wins, for the judge and for "
        "the human reference on the same pairs."
    )
    one_order = [row["judge"] for row in rows if charts.one_order_only(row)]
    if one_order:
        st.info(
            no_remote_images(
                f"Judged in one presentation order only, so their consistency is unknown: {', '.join(one_order)}. "
                "Judge the pairs in both orders to measure it."
            )
        )
    for start in range(0, len(rows), PER_ROW):
        columns = st.columns(PER_ROW)
        for column, row in zip(columns, rows[start : start + PER_ROW], strict=False):
            column.altair_chart(charts.bias_chart(row), width="stretch")


def anchoring_section(report: dict[str, Any]) -> None:
    st.subheader("Anchoring: agreement with the judge, assisted vs blind")
    rows = report.get("anchoring") or []
    if not rows:
        st.caption(
            "No reviewer has ranked a pair in assisted mode (the judge's verdict on screen) or blind with a judge "
            "verdict to compare yet. Once there are both, this compares how often reviewers agree with the judge."
        )
        return
    st.caption(
        "How often reviewers' rankings agree with the judge's verdict when it is on screen (assisted) and when "
        "it is not (blind). Assisted clearly above blind suggests reviewers anchor on the judge."
    )
    left, right = st.columns([3, 1])
    left.altair_chart(charts.anchoring_chart(rows), width="stretch")
    for row in rows:
        value, interval = charts.anchoring_difference(row)
        right.metric(
            f"{row['judge']}: assisted − blind",
            value,
            help="Above 0: more agreement with the judge when its verdict is shown.",
        )
        right.caption(f"interval {interval}" if interval else "needs both assisted and blind rankings")
    people = charts.anchoring_annotators(rows)
    if not people.empty:
        with st.expander("Anchoring per reviewer"):
            st.dataframe(people, hide_index=True, width="stretch")


def suggestions_section(report: dict[str, Any], confidence: float) -> None:
    """How reviewers treat the judge's suggestion in assisted mode, and who seems to rubber-stamp it."""
    signals = report.get("review_signals") or {}
    overall = signals.get("overall")
    if not overall:
        return
    st.subheader("Reviewers and the judge's suggestions")
    st.caption(
        "Acceptance: the share of assisted rankings that equal the suggestion shown. Blind agreement: the same "
        "reviewer's agreement with that judge when it was not shown. Acceptance above blind agreement by more "
        "than the interval allows is flagged as rubber-stamping."
    )
    columns = st.columns(4)
    _metric(columns[0], "Acceptance (assisted)", overall.get("acceptance"), confidence)
    _metric(columns[1], "Agreement (blind)", overall.get("blind_agreement"), confidence)
    _metric(columns[2], "Acceptance − blind", overall.get("excess"), confidence)
    accept, override = overall.get("seconds_accepting"), overall.get("seconds_overriding")
    columns[3].metric(
        "Median s: accept / override",
        " / ".join("—" if s is None else f"{s:.0f}" for s in (accept, override)),
        help="Time on item of assisted rankings that took the suggestion vs overrode it.",
    )
    flagged = signals.get("rubber_stamping") or []
    if flagged:
        st.warning(
            no_remote_images(
                "Possible rubber-stamping: " + ", ".join(flagged) + " accept the judge's suggestion more often than "
                "their own blind rankings agree with it. Give them more blind items, or review their labels."
            )
        )
    st.dataframe(signals_charts.acceptance_table(signals), hide_index=True, width="stretch")


def taxonomy_section(report: dict[str, Any]) -> None:
    """Skips and adjudications by reason, per rubric version: what to fix in the guideline or the data."""
    signals = report.get("review_signals") or {}
    totals = signals.get("taxonomy") or {}
    if not any(totals.values()):
        return
    st.subheader("Error taxonomy: skips and adjudications")
    st.caption(
        "Why reviewers skipped items and why pairs needed a ruling, per rubric version (oldest first), per "
        "assignment made under it. Adjudications with a free-text note only count as other."
    )
    columns = st.columns(len(signals_charts.CATEGORIES))
    for column, (key, label) in zip(columns, signals_charts.CATEGORIES.items(), strict=True):
        column.metric(label, totals.get(key, 0))
    table = signals_charts.taxonomy_table(signals)
    if table["rate"].notna().any():
        st.altair_chart(signals_charts.taxonomy_chart(table), width="stretch")
    st.dataframe(table, hide_index=True, width="stretch")


def hotspot_section(report: dict[str, Any]) -> None:
    hotspots = report.get("hotspots") or []
    if not hotspots:
        return
    st.subheader("Hotspots")
    st.caption(
        "Pairs worth a second look: where reviewers split most, then where judges disagree with the reference. "
        "Disagreement is 1 − the largest share of one outcome among the human votes; outcomes that differ from "
        "the reference are tinted."
    )
    table = charts.hotspot_table(hotspots)
    st.dataframe(
        table.style.apply(lambda _: charts.hotspot_marks(table), axis=None),
        hide_index=True,
        width="stretch",
        height=35 * (min(len(table), 20) + 1) + 3,  # every hotspot the report lists (20 by default), no scrolling
        column_config={
            "disagreement": st.column_config.ProgressColumn(min_value=0.0, max_value=1.0, format="%.2f", width="small"),
            "judges off": st.column_config.NumberColumn(help="Judges whose outcome differs from the reference."),
        },
    )


def versions_section(report: dict[str, Any]) -> None:
    """Each rubric version judges were run with, so a new version's effect on agreement is visible."""
    versions = report.get("rubric_versions") or []
    data = charts.version_table(versions)
    if data["rubric"].nunique() < 2:
        return
    st.subheader("By rubric version")
    st.caption("Judge accuracy and Cohen's κ against the reviewers under each rubric version, oldest first.")
    judges = sorted(data["judge"].unique())
    for column, metric in zip(st.columns(2), ("Accuracy", "Cohen's κ"), strict=True):
        column.altair_chart(charts.version_lines(data, metric, judges), width="stretch")


def models_section(board: dict[str, Any]) -> None:
    """The leaderboard from the reviewers' labels; nothing when no pair names its models."""
    if not board.get("comparisons"):
        return
    st.subheader("Models")
    st.caption(
        f"{board['comparisons']} pairs labelled by reviewers (adjudication, else strict majority), as the export "
        "reads them. Rating: Bradley–Terry log-strength with its bootstrap interval; win rates count a tie as "
        "half; LC is AlpacaEval 2's length-controlled win rate (what it would be at equal lengths)."
    )
    rows = [
        {
            "model": row["model"],
            "rating": round(row["rating"], 3),
            "interval": "—" if not row["rating_ci"] else f"{row['rating_ci'][0]:+.2f} … {row['rating_ci'][1]:+.2f}",
            "win rate": None if row["win_rate"] is None else round(row["win_rate"], 3),
            "LC win rate": None if row["lc_win_rate"] is None else round(row["lc_win_rate"], 3),
            "pairs": row["comparisons"],
        }
        for row in board["models"]
    ]
    st.dataframe(rows, hide_index=True, width="stretch")
    with st.expander("(win, lose, tie) per pair of models"):
        st.dataframe(board["pairs"], hide_index=True, width="stretch")


def routing_section(status: dict[str, Any], report: dict[str, Any]) -> None:
    """Certified routing: what the judges may label alone, what it saves, and whether audits bear it out."""
    calibration = status.get("calibration")
    if not calibration:
        return
    st.subheader("Routing")
    alpha, delta = calibration["alpha"], calibration["delta"]
    st.caption(
        f"Calibration {calibration['calibration']} ({calibration['signal']} signal, α = {alpha}, δ = {delta}, "
        f"{calibration['n_calibration']} human-labelled pairs): each judge's accepted pairs disagree with "
        f"reviewers on at most its certified bound, with probability at least {1 - delta:.0%}."
    )
    columns = st.columns(4)
    columns[0].metric("Coverage", f"{status['coverage']:.0%}", help=f"{status['accepted']} of {status['pairs']} pairs")
    columns[1].metric("Escalated", status["escalated"], help="Pairs no judge could be trusted on: to reviewers.")
    columns[2].metric(
        "Human labels saved",
        status["human_labels_saved"],
        help=f"(accepted − {status['audit_sample']} audited) × overlap {status['overlap']}",
    )
    audit = next((row for row in report.get("audit") or [] if row["calibration"] == calibration["calibration"]), None)
    rate = (audit or {}).get("disagreement")
    columns[3].metric(
        "Audit disagreement",
        "—" if rate is None else f"{rate['value']:.2f}",
        help="no audited pair yet"
        if rate is None
        else f"{audit['audited']} audited pairs; exact bounds {rate['low']:.2f} – {rate['high']:.2f}",
    )
    if audit and audit.get("contradicted"):
        st.error(
            no_remote_images(
                f"The audit contradicts calibration {calibration['calibration']}: audited pairs disagree with "
                f"reviewers more than α = {alpha} (lower bound {rate['low']:.2f}). "
                "Calibrate again on more blind labels."
            )
        )
    table = charts.routing_table(status)
    if not table.empty:
        st.altair_chart(charts.coverage_bars(table, alpha), width="stretch")
        st.dataframe(table, hide_index=True, width="stretch")


def main() -> None:
    current = project()
    st.title(f"Dashboard · {current['name']}")
    try:
        report = client().agreement(current["id"])
    except ApiError as exc:
        show_error(exc, "Agreement report")
        return
    st.caption(counts_line(report))
    confidence = (report.get("settings") or {}).get("confidence", 0.95)
    human_section(report, confidence)
    judge_section(report)
    bias_section(report)
    anchoring_section(report)
    suggestions_section(report, confidence)
    taxonomy_section(report)
    hotspot_section(report)
    versions_section(report)
    try:
        models_section(client().leaderboard(current["id"]))
    except ApiError as exc:
        show_error(exc, "Models")
    try:
        routing_section(client().routing(current["id"]), report)
    except ApiError as exc:
        show_error(exc, "Routing")


if __name__ == "__main__":  # Streamlit runs page scripts as __main__; importing them runs nothing
    main()
