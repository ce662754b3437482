"""Agreement report → tables and Altair charts, as pure functions (no Streamlit), so they can be tested.

The dashboard reads the report the API computes (`GET /projects/{id}/agreement`, the JSON of
``server.agreement.reports.AgreementReport``); these functions only reshape its parts:

==============================  ==========================================================
report part                     here
==============================  ==========================================================
``human_human.pairwise``        :func:`kappa_matrix` → :func:`kappa_heatmap`
``annotators``                  :func:`annotator_table`
``judge_human``                 :func:`judge_table` → :func:`judge_bars`
``judge_bias`` (one per judge)  :func:`bias_table` → :func:`bias_chart`
``anchoring`` (one per judge)   :func:`anchoring_table` → :func:`anchoring_chart`,
                                :func:`anchoring_difference`, :func:`anchoring_annotators`
``hotspots``                    :func:`hotspot_table`, :func:`hotspot_marks`
``rubric_versions``             :func:`version_table` → :func:`version_lines`
``GET …/routing`` (not the      :func:`routing_table` → :func:`coverage_bars`
report: the current routing)
==============================  ==========================================================

Rates are shares in 0..1; a figure with a bootstrap interval is an estimate ``{"value", "low", "high"}``
(``low``/``high`` null when there is none).
Names (annotators, judges) stay whole in the data and in tooltips; axes show :func:`short_names`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import altair as alt
import pandas as pd

Row = Mapping[str, Any]

JUDGE_METRICS = {
    "accuracy": "Accuracy",
    "macro_precision": "Macro precision",
    "macro_recall": "Macro recall",
    "macro_f1": "Macro F1",
    "cohen_kappa": "Cohen's κ",
}
"""judge_human field → how it reads on screen, in the order the bars are drawn."""

BIAS_METRICS = (
    ("consistency", "Same outcome · in both orders", "judge"),
    ("first_position_rate", "First shown · wins", "judge"),
    ("longer_wins_judge", "Longer wins · judge", "judge"),
    ("longer_wins_humans", "Longer wins · humans", "humans"),
)
"""judge_bias field → bar label (" · " breaks the axis label in two lines) and whose rate it is."""

NO_POSITION_BIAS = 0.5
"""A judge without position bias picks the response shown first in half of its decisive verdicts."""

JUDGE_COLOUR, HUMAN_COLOUR = "#1c5fb8", "#f28e2b"
MODE_COLOURS = {"assisted": "#1c5fb8", "blind": "#9ecae9"}
EMPTY_CELL = "#eef0f4"
CELL = 84  # heatmap cell size in pixels
DARK_CELL = 0.5  # |κ| beyond which a red–blue cell is dark enough to need white text
FIT_WIDTH = alt.AutoSizeParams(type="fit-x", contains="padding")  # width: the container's; height: the plot's
PAD = alt.AutoSizeParams(type="pad")  # the size asked for, axes and legends around it
TWO_LINES = "split(datum.label, ' · ')"  # axis labels "x · y" drawn as two lines


def _number(value: Any) -> float | None:
    """A finite number, else None (the report writes null for undefined rates).

    >>> _number(0.5), _number(None), _number(float("nan")), _number(True)
    (0.5, None, None, None)
    """
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def _value(row: Row, field: str) -> float | None:
    """The value of ``row[field]``: an estimate's ``value``, or a plain number.

    >>> _value({"x": {"value": 0.5, "low": 0.1, "high": 0.9}}, "x"), _value({"x": 0.25}, "x"), _value({}, "x")
    (0.5, 0.25, None)
    """
    value = row.get(field)
    return _number(value.get("value") if isinstance(value, Mapping) else value)


def _interval(row: Row, field: str) -> tuple[float | None, float | None]:
    """The (low, high) of the estimate ``row[field]``, or (None, None).

    >>> _interval({"x": {"value": 0.5, "low": 0.1, "high": 0.9}}, "x"), _interval({"x": 0.5}, "x")
    ((0.1, 0.9), (None, None))
    """
    estimate = row.get(field)
    if not isinstance(estimate, Mapping):
        return None, None
    return _number(estimate.get("low")), _number(estimate.get("high"))


def estimate_interval(row: Row, field: str) -> list[float] | None:
    """The interval of the estimate ``row[field]`` as [low, high] (for :func:`interval_text`), or None.

    >>> estimate_interval({"x": {"value": 0.5, "low": 0.1, "high": 0.9}}, "x"), estimate_interval({}, "x")
    ([0.1, 0.9], None)
    """
    low, high = _interval(row, field)
    return None if low is None or high is None else [low, high]


def interval_text(ci: Sequence[float] | None, signed: bool = False) -> str:
    """An interval as it reads in a table or a caption; "" when there is none.

    >>> interval_text([0.123, 0.456]), interval_text([-0.5, 0.25], signed=True), interval_text(None)
    ('0.12 – 0.46', '−0.50 – +0.25', '')
    """
    if not ci or any(_number(v) is None for v in ci):
        return ""
    return " – ".join(signed_text(v) if signed else f"{v:.2f}" for v in ci)


def signed_text(value: float | None) -> str:
    """A difference with its sign (a real minus sign), "—" when undefined.

    >>> signed_text(0.25), signed_text(-0.1), signed_text(None)
    ('+0.25', '−0.10', '—')
    """
    if _number(value) is None:
        return "—"
    return f"{value:+.2f}".replace("-", "−")


def short_names(names: Iterable[str], limit: int = 18) -> dict[str, str]:
    """Display names for axes and column headers: the part after the last "/" (imports are named
    ``source/annotatorN``), cut to `limit` characters; a name keeps its whole form where shortening
    would make two names look alike.

    >>> short_names(["pandalm/annotator1", "pandalm/annotator2", "rev1"])
    {'pandalm/annotator1': 'annotator1', 'pandalm/annotator2': 'annotator2', 'rev1': 'rev1'}
    >>> short_names(["a/x", "b/x", "a-very-long-reviewer-name"], limit=10)
    {'a/x': 'a/x', 'b/x': 'b/x', 'a-very-long-reviewer-name': 'a-very-lo…'}
    """
    names = list(dict.fromkeys(names))
    tails = [name.rsplit("/", 1)[-1] or name for name in names]
    shown = [tail if tails.count(tail) == 1 else name for name, tail in zip(names, tails, strict=True)]
    cut = [s if len(s) <= limit else s[: limit - 1] + "…" for s in shown]
    return {name: c if cut.count(c) == 1 else name for name, c in zip(names, cut, strict=True)}


def _domain(values: Iterable[float | None], top: float = 1.0) -> list[float]:
    """A y domain from 0 (or lower, to the next tenth, when a value is negative) up to `top`.

    >>> _domain([0.3, None, 0.9]), _domain([-0.23, 0.5])
    ([0.0, 1.0], [-0.3, 1.0])
    """
    low = min([0.0, *(v for v in values if v is not None)])
    return [math.floor(round(low * 10, 6)) / 10, top]


# ------------------------------------------------------------------------------ people with people


def kappa_matrix(pairwise: Sequence[Row]) -> pd.DataFrame:
    """Annotator × annotator Cohen's kappa as heatmap cells: both halves filled (kappa is symmetric) and
    the diagonal present but empty (``kind`` "self"; a reviewer's agreement with themself says nothing).

    Columns: annotator, other (full names), row_label, column_label (short names), kind ("pair", "self",
    or "undefined" for a pair whose kappa is null), cohen_kappa, interval, n, percent_agreement, text
    (what the cell shows), detail (its n, printed smaller) and ink (the text colour: white on dark cells,
    black on light ones).

    >>> cells = kappa_matrix([{"annotators": ["src/x", "y"], "n": 10, "cohen_kappa": 0.8, "percent_agreement": 0.9}])
    >>> cells[["annotator", "other", "kind", "text", "ink"]].values.tolist()  # doctest: +NORMALIZE_WHITESPACE
    [['src/x', 'src/x', 'self', '', 'black'], ['src/x', 'y', 'pair', '0.80', 'white'],
     ['y', 'src/x', 'pair', '0.80', 'white'], ['y', 'y', 'self', '', 'black']]
    >>> cells["row_label"].tolist()
    ['x', 'x', 'y', 'y']
    """
    found: dict[tuple[str, str], Row] = {}
    for entry in pairwise:
        first, second = entry["annotators"][:2]
        found[(first, second)] = found[(second, first)] = entry
    names = sorted({name for pair in found for name in pair})
    short = short_names(names)
    rows = []
    for annotator in names:
        for other in names:
            entry = found.get((annotator, other))
            kappa = _value(entry, "cohen_kappa") if entry else None
            if annotator == other:
                kind, text = "self", ""
            elif entry is None or kappa is None:
                kind, text = "undefined", "n/a" if entry else ""
            else:
                kind, text = "pair", f"{kappa:.2f}"
            rows.append(
                {
                    "annotator": annotator,
                    "other": other,
                    "row_label": short[annotator],
                    "column_label": short[other],
                    "kind": kind,
                    "cohen_kappa": kappa,
                    "interval": interval_text(estimate_interval(entry, "cohen_kappa")) if entry else "",
                    "n": int(entry.get("n") or 0) if entry else 0,
                    "percent_agreement": _number(entry.get("percent_agreement")) if entry else None,
                    "text": text,
                    "detail": f"n = {entry.get('n') or 0}" if entry and annotator != other else "",
                    "ink": "white" if kappa is not None and kind == "pair" and abs(kappa) > DARK_CELL else "black",
                }
            )
    return pd.DataFrame(
        rows,
        columns=[
            "annotator", "other", "row_label", "column_label", "kind", "cohen_kappa", "interval", "n",
            "percent_agreement", "text", "detail", "ink",
        ],
    )  # fmt: skip


def kappa_heatmap(pairwise: Sequence[Row]) -> alt.LayerChart:
    """Who agrees with whom: a square red (disagree) – blue (agree) grid of pairwise Cohen's kappa, each
    cell labelled with its value; short names on the axes, full names, interval and n in the tooltip.

    >>> spec = kappa_heatmap([{"annotators": ["x", "y"], "n": 10, "cohen_kappa": 0.5}]).to_dict()
    >>> spec["width"] == spec["height"] == 2 * CELL, [layer["mark"]["type"] for layer in spec["layer"]]
    (True, ['rect', 'rect', 'text', 'text'])
    """
    data = kappa_matrix(pairwise)
    order = list(dict.fromkeys(data["row_label"]))
    side = CELL * max(1, len(order))
    axis = {"labelLimit": 160, "labelFontSize": 13, "labelColor": "#31333f", "ticks": False, "domain": False}
    base = alt.Chart(data).encode(
        x=alt.X("column_label:N", title=None, sort=order, axis=alt.Axis(orient="top", labelAngle=-30, **axis)),
        y=alt.Y("row_label:N", title=None, sort=order, axis=alt.Axis(**axis)),
        tooltip=[
            alt.Tooltip("annotator:N", title="reviewer"),
            alt.Tooltip("other:N", title="with"),
            alt.Tooltip("cohen_kappa:Q", title="Cohen's κ", format=".3f"),
            alt.Tooltip("interval:N", title="interval"),
            alt.Tooltip("percent_agreement:Q", title="same outcome", format=".1%"),
            alt.Tooltip("n:Q", title="pairs both ranked"),
        ],
    )
    cells = (
        base.transform_filter(alt.datum.kind == "pair")
        .mark_rect(stroke="white", strokeWidth=2)
        .encode(
            color=alt.Color(
                "cohen_kappa:Q",
                title="Cohen's κ",
                scale=alt.Scale(domain=[-1, 1], scheme="redblue"),
                legend=alt.Legend(gradientLength=side, values=[-1, -0.5, 0, 0.5, 1]),
            )
        )
    )
    empty = (
        base.transform_filter(alt.datum.kind != "pair")
        .mark_rect(stroke="white", strokeWidth=2)
        .encode(color=alt.value(EMPTY_CELL))
    )
    ink = alt.condition(alt.datum.ink == "white", alt.value("white"), alt.value("black"))
    labels = base.mark_text(fontSize=16, fontWeight="bold", dy=-6).encode(text="text:N", color=ink)
    details = base.mark_text(fontSize=10, dy=12, opacity=0.85).encode(text="detail:N", color=ink)
    return alt.layer(cells, empty, labels, details).properties(width=side, height=side, autosize=PAD)


def annotator_table(annotators: Sequence[Row]) -> pd.DataFrame:
    """One row per reviewer, as read on screen: rankings, tie rate, agreement with the others, gold.

    >>> annotator_table([{"annotator": "ann", "n": 4, "tie_rate": 0.25, "agreement_with_others": 0.6666,
    ...                   "kappa_with_others": None, "gold_n": 0, "gold_accuracy": None, "median_seconds": 31.0,
    ...                   "modes": {"blind": 4}}]).to_dict("records")  # doctest: +NORMALIZE_WHITESPACE
    [{'reviewer': 'ann', 'rankings': 4, 'modes': 'blind 4', 'tie rate': 0.25, 'agrees with others': 0.67,
      "κ vs others' majority": None, 'gold accuracy': None, 'seconds per item': 31.0}]
    """
    rows = []
    for row in annotators:
        gold = _number(row.get("gold_accuracy"))
        kappa = _number(row.get("kappa_with_others"))
        agree = _number(row.get("agreement_with_others"))
        tie_rate = _number(row.get("tie_rate"))
        rows.append(
            {
                "reviewer": row["annotator"],
                "rankings": row.get("n", 0),
                "modes": " · ".join(f"{mode} {n}" for mode, n in (row.get("modes") or {}).items()),
                "tie rate": None if tie_rate is None else round(tie_rate, 2),
                "agrees with others": None if agree is None else round(agree, 2),
                "κ vs others' majority": None if kappa is None else round(kappa, 2),
                "gold accuracy": None if gold is None else f"{gold:.2f} of {row.get('gold_n', 0)}",
                "seconds per item": _number(row.get("median_seconds")),
            }
        )
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------- judges with people


def judge_table(judge_human: Sequence[Row]) -> pd.DataFrame:
    """Judge vs human reference in long form: judge, rubric, criterion ("overall" when null), n, metric
    (its screen label), value, low, high (the bootstrap interval, None without one).

    >>> judge_table([{"judge": "j", "rubric": None, "criterion": None, "n": 9,
    ...               "accuracy": {"value": 0.7, "low": 0.5, "high": 0.9}, "cohen_kappa": {"value": 0.4},
    ...               "macro_f1": {"value": None}}]).values.tolist()
    [['j', None, 'overall', 9, 'Accuracy', 0.7, 0.5, 0.9], ['j', None, 'overall', 9, "Cohen's κ", 0.4, nan, nan]]
    """
    rows = []
    for entry in judge_human:
        for field, label in JUDGE_METRICS.items():
            value = _value(entry, field)
            if value is None:
                continue
            low, high = _interval(entry, field)
            rows.append(
                {
                    "judge": entry["judge"],
                    "rubric": entry.get("rubric"),
                    "criterion": entry.get("criterion") or "overall",
                    "n": entry.get("n", 0),
                    "metric": label,
                    "value": value,
                    "low": low,
                    "high": high,
                }
            )
    return pd.DataFrame(rows, columns=["judge", "rubric", "criterion", "n", "metric", "value", "low", "high"])


def _intervals_and_labels(base: alt.Chart, text: alt.Text, *, dy: int, size: int) -> tuple[alt.Chart, alt.Chart]:
    """Error bars from `low` to `high`, and `text` printed just above the interval (or the bar without one)."""
    errors = base.mark_rule(color="#222", strokeWidth=1.5).encode(y="low:Q", y2="high:Q")
    values = (
        base.transform_calculate(top="isValid(datum.high) ? datum.high : datum.value")
        .mark_text(dy=dy, fontSize=size)
        .encode(y="top:Q", text=text)
    )
    return errors, values


def judge_bars(data: pd.DataFrame, title: str | None = None, judges: Sequence[str] | None = None) -> alt.LayerChart:
    """Judge metrics side by side (one colour per judge; pass every judge as `judges` to keep the colours
    the same across panels) with their intervals as error bars and values printed over them; y from 0
    (lower only if a kappa is negative) to 1. The dashboard draws one such panel overall and one per
    criterion (`title`).

    >>> table = judge_table([{"judge": "j", "n": 9, "accuracy": 0.7, "accuracy_ci": [0.5, 0.9]}])
    >>> spec = judge_bars(table, title="helpful").to_dict()
    >>> [layer["mark"]["type"] for layer in spec["layer"]], spec["layer"][0]["encoding"]["y"]["scale"]["domain"]
    (['bar', 'rule', 'text'], [0.0, 1.0])
    >>> spec["title"]["text"], spec["autosize"]["type"]
    ('helpful', 'fit-x')
    """
    domain = _domain([*data["value"], *data["low"]])
    judges = list(judges) if judges else sorted(data["judge"].unique())
    metrics = [m for m in JUDGE_METRICS.values() if m in set(data["metric"])]
    base = alt.Chart(data).encode(
        x=alt.X("metric:N", title=None, sort=metrics, axis=alt.Axis(labelAngle=0, labelFontSize=12)),
        xOffset=alt.XOffset("judge:N", sort=judges),
    )
    bars = base.mark_bar().encode(
        y=alt.Y("value:Q", title=None, scale=alt.Scale(domain=domain)),
        color=alt.Color(
            "judge:N", title="judge", scale=alt.Scale(domain=judges), legend=alt.Legend(orient="top", labelLimit=240)
        ),
        tooltip=[
            "judge:N",
            "rubric:N",
            "metric:N",
            alt.Tooltip("value:Q", format=".3f"),
            alt.Tooltip("low:Q", title="interval from", format=".3f"),
            alt.Tooltip("high:Q", title="to", format=".3f"),
            alt.Tooltip("n:Q", title="pairs"),
        ],
    )
    errors, values = _intervals_and_labels(base, alt.Text("value:Q", format=".2f"), dy=-7, size=11)
    chart = alt.layer(bars, errors, values).properties(height=240, autosize=FIT_WIDTH)
    return chart.properties(title=alt.TitleParams(title, anchor="start")) if title else chart


def bias_table(judge_bias: Sequence[Row]) -> pd.DataFrame:
    """Judge bias in long form, one row per judge and bar: judge, metric (bar label), who ("judge" or
    "humans"), value, low, high, label (value printed over the bar) and note (why a bar is missing).

    A judge judged in one presentation order only has no consistency: its note says so.

    >>> bias = {"judge": "j", "n": 3, "consistency": {"value": None},
    ...         "first_position_rate": {"value": 0.6, "low": 0.4, "high": 0.8}, "longer_wins_judge": {"value": 0.7},
    ...         "longer_wins_humans": {"value": 0.5}, "counts": {"both_orders": 0}}
    >>> bias_table([bias])[["metric", "who", "value", "note"]].values.tolist()  # doctest: +NORMALIZE_WHITESPACE
    [['Same outcome · in both orders', 'judge', nan, 'judged in · one order only'],
     ['First shown · wins', 'judge', 0.6, ''],
     ['Longer wins · judge', 'judge', 0.7, ''],
     ['Longer wins · humans', 'humans', 0.5, '']]
    """
    rows = []
    for entry in judge_bias:
        counts = entry.get("counts") or {}
        missing = {
            "consistency": "judged in · one order only" if not counts.get("both_orders") else "no outcome",
            "first_position_rate": "no decisive · verdicts",
            "longer_wins_judge": "no decisive pairs · of unequal length",
            "longer_wins_humans": "no decisive pairs · of unequal length",
        }
        for field, label, who in BIAS_METRICS:
            value = _value(entry, field)
            low, high = _interval(entry, field)
            rows.append(
                {
                    "judge": entry["judge"],
                    "metric": label,
                    "who": who,
                    "value": value,
                    "low": low,
                    "high": high,
                    "label": "" if value is None else f"{value:.2f}",
                    "note": missing[field] if value is None else "",
                }
            )
    return pd.DataFrame(rows, columns=["judge", "metric", "who", "value", "low", "high", "label", "note"])


def one_order_only(bias: Row) -> bool:
    """Whether a judge was never asked in both presentation orders (so its consistency is unknown).

    >>> one_order_only({"consistency": None, "counts": {"both_orders": 0}}), one_order_only({"consistency": 0.9})
    (True, False)
    """
    return _value(bias, "consistency") is None and not (bias.get("counts") or {}).get("both_orders")


def bias_chart(bias: Row) -> alt.LayerChart:
    """One judge's position and length bias: consistency across the two presentation orders, how often the
    response shown first wins (dashed mark at 0.5, no position bias), and how often the longer response
    wins for the judge vs for the human reference. y is a share, 0..1; a missing bar says why.

    >>> spec = bias_chart({"judge": "j", "n": 3, "consistency": 0.9, "first_position_rate": 0.5,
    ...                    "longer_wins_judge": 0.7, "longer_wins_humans": 0.6, "counts": {"both_orders": 3}}).to_dict()
    >>> [layer["mark"]["type"] for layer in spec["layer"]], spec["title"]["text"]
    (['bar', 'rule', 'text', 'text', 'tick'], 'j')
    """
    data = bias_table([bias])
    counts = bias.get("counts") or {}
    labels = [label for _, label, _ in BIAS_METRICS]
    x = alt.X(
        "metric:N",
        title=None,
        sort=labels,
        scale=alt.Scale(domain=labels),
        axis=alt.Axis(labelAngle=0, labelExpr=TWO_LINES, labelFontSize=11, labelLimit=200, labelOverlap=False),
    )
    y = alt.Y("value:Q", title="share", scale=alt.Scale(domain=[0, 1]))
    base = alt.Chart(data).encode(x=x)
    bars = base.mark_bar(width={"band": 0.7}).encode(
        y=y,
        color=alt.Color(
            "who:N",
            title=None,
            scale=alt.Scale(domain=["judge", "humans"], range=[JUDGE_COLOUR, HUMAN_COLOUR]),
            legend=alt.Legend(orient="top"),
        ),
        tooltip=[
            "judge:N",
            "metric:N",
            alt.Tooltip("value:Q", format=".3f"),
            alt.Tooltip("low:Q", title="interval from", format=".3f"),
            alt.Tooltip("high:Q", title="to", format=".3f"),
        ],
    )
    errors = base.mark_rule(color="#222", strokeWidth=1.5).encode(y="low:Q", y2="high:Q")
    values = (
        base.transform_calculate(top="isValid(datum.high) ? datum.high : datum.value")
        .mark_text(dy=-8, fontSize=12, fontWeight="bold")
        .encode(y="top:Q", text="label:N")
    )
    notes = (
        base.transform_filter("datum.note != ''")
        .transform_calculate(lines=TWO_LINES.replace("label", "note"), y="0.06")
        .mark_text(fontSize=11, color="#666", baseline="bottom", lineHeight=14)
        .encode(y="y:Q", text="lines:N")
    )
    first = alt.Chart(pd.DataFrame({"metric": [BIAS_METRICS[1][1]], "value": [NO_POSITION_BIAS]}))
    line = first.mark_tick(color="#d62728", thickness=2, strokeDash=[5, 3]).encode(
        x=x, y="value:Q", tooltip=[alt.Tooltip("value:Q", title="no position bias")]
    )
    n, both = bias.get("n", 0), counts.get("both_orders", 0)
    subtitle = f"{n} pairs · {both} judged in both orders" + (
        f" · rubric {bias['rubric']}" if bias.get("rubric") else ""
    )
    return alt.layer(bars, errors, values, notes, line).properties(
        height=240, autosize=FIT_WIDTH, title=alt.TitleParams(text=bias["judge"], subtitle=subtitle, anchor="start")
    )


# ---------------------------------------------------------------------------------------- anchoring


def anchoring_table(anchoring: Sequence[Row]) -> pd.DataFrame:
    """Agreement with the judge per judge and review mode: judge, mode, value, low, high, rankings, label
    (over the bar) and note (why a bar is missing).

    >>> row = {"judge": "j", "n": 5, "assisted": {"value": 0.75, "low": 0.5, "high": 1.0}, "blind": {"value": None},
    ...        "difference": {"value": None}, "counts": {"assisted": 4, "blind": 1}}
    >>> anchoring_table([row]).values.tolist()  # doctest: +NORMALIZE_WHITESPACE
    [['j', 'assisted', 0.75, 0.5, 1.0, 4, '0.75 · n = 4', ''],
     ['j', 'blind', nan, nan, nan, 1, '', 'no usable · blind rankings']]
    """
    rows = []
    for entry in anchoring:
        counts = entry.get("counts") or {}
        for mode in MODE_COLOURS:
            value = _value(entry, mode)
            low, high = _interval(entry, mode)
            n = int(counts.get(mode) or 0)
            rows.append(
                {
                    "judge": entry["judge"],
                    "mode": mode,
                    "value": value,
                    "low": low,
                    "high": high,
                    "rankings": n,
                    "label": "" if value is None else f"{value:.2f} · n = {n}",
                    "note": f"no usable · {mode} rankings" if value is None else "",
                }
            )
    return pd.DataFrame(rows, columns=["judge", "mode", "value", "low", "high", "rankings", "label", "note"])


def anchoring_chart(anchoring: Sequence[Row]) -> alt.LayerChart:
    """Per judge, the share of reviewers' rankings that agree with it in assisted mode (its verdict on
    screen) and in blind mode, with intervals; y is a share, 0..1. Assisted above blind hints at anchoring.

    >>> rows = [{"judge": "j", "assisted": 0.8, "blind": 0.6, "counts": {"assisted": 4, "blind": 5}}]
    >>> spec = anchoring_chart(rows).to_dict()
    >>> [layer["mark"]["type"] for layer in spec["layer"]], spec["layer"][0]["encoding"]["y"]["scale"]["domain"]
    (['bar', 'rule', 'text', 'text'], [0, 1])
    """
    data = anchoring_table(anchoring)
    modes = list(MODE_COLOURS)
    base = alt.Chart(data).encode(
        x=alt.X("judge:N", title=None, axis=alt.Axis(labelAngle=0, labelFontSize=12, labelLimit=240)),
        xOffset=alt.XOffset("mode:N", sort=modes, scale=alt.Scale(domain=modes)),
    )
    bars = base.mark_bar().encode(
        y=alt.Y("value:Q", title="agrees with the judge", scale=alt.Scale(domain=[0, 1])),
        color=alt.Color(
            "mode:N",
            title="review mode",
            scale=alt.Scale(domain=modes, range=list(MODE_COLOURS.values())),
            legend=alt.Legend(orient="top"),
        ),
        tooltip=[
            "judge:N",
            "mode:N",
            alt.Tooltip("value:Q", title="agree", format=".3f"),
            alt.Tooltip("low:Q", title="interval from", format=".3f"),
            alt.Tooltip("high:Q", title="to", format=".3f"),
            alt.Tooltip("rankings:Q", title="rankings"),
        ],
    )
    errors, values = _intervals_and_labels(base, alt.Text("label:N"), dy=-8, size=12)
    notes = (
        base.transform_filter("datum.note != ''")
        .transform_calculate(lines=TWO_LINES.replace("label", "note"), y="0.04")
        .mark_text(fontSize=11, color="#666", baseline="bottom", lineHeight=14)
        .encode(y="y:Q", text="lines:N")
    )
    return alt.layer(bars, errors, values, notes).properties(height=260, autosize=FIT_WIDTH)


def anchoring_difference(row: Row) -> tuple[str, str]:
    """A judge's assisted − blind difference and its interval, as (value, interval) texts.

    >>> anchoring_difference({"difference": {"value": -0.25, "low": -0.6667, "high": 0.1667}})
    ('−0.25', '−0.67 – +0.17')
    >>> anchoring_difference({"difference": {"value": None, "low": None, "high": None}})
    ('—', '')
    """
    return signed_text(_value(row, "difference")), interval_text(estimate_interval(row, "difference"), signed=True)


def anchoring_annotators(anchoring: Sequence[Row]) -> pd.DataFrame:
    """The per-annotator rows of every judge, as read on screen (shares rounded to two places).

    >>> anchoring_annotators([{"judge": "j", "per_annotator": [{"annotator": "ann", "assisted": {"value": 0.5},
    ...     "blind": {"value": 0.8333}, "difference": {"value": -0.3333, "low": -0.7, "high": 0.1},
    ...     "counts": {"assisted": 2, "blind": 6}}]}]).values.tolist()
    [['j', 'ann', 0.5, 0.83, '−0.33', '−0.70 – +0.10', 2, 6]]
    """
    rows = []
    for entry in anchoring:
        for person in entry.get("per_annotator") or []:
            counts = person.get("counts") or {}
            assisted, blind = _value(person, "assisted"), _value(person, "blind")
            difference, interval = anchoring_difference(person)
            rows.append(
                {
                    "judge": entry["judge"],
                    "reviewer": person["annotator"],
                    "assisted": None if assisted is None else round(assisted, 2),
                    "blind": None if blind is None else round(blind, 2),
                    "assisted − blind": difference,
                    "interval": interval,
                    "assisted rankings": int(counts.get("assisted") or 0),
                    "blind rankings": int(counts.get("blind") or 0),
                }
            )
    columns = ["judge", "reviewer", "assisted", "blind", "assisted − blind", "interval"]
    return pd.DataFrame(rows, columns=[*columns, "assisted rankings", "blind rankings"])


# ----------------------------------------------------------------------------------------- hotspots


def votes_text(votes: Mapping[str, int] | None) -> str:
    """Human votes per outcome, as one short line.

    >>> votes_text({"a": 2, "b": 0, "tie": 1})
    'a 2 · b 0 · tie 1'
    """
    return " · ".join(f"{outcome} {count}" for outcome, count in (votes or {}).items())


def hotspot_table(hotspots: Sequence[Row]) -> pd.DataFrame:
    """Hotspots as a table: pair id, key, reference, human votes, one column per annotator and per judge
    (its outcome; "failed" when every verdict of the judge failed; empty where it did not rank the pair),
    disagreement (rounded) and how many judges disagree with the reference ("judges off"). Annotator columns use
    :func:`short_names`; a judge column is suffixed " (judge)" when it would clash with one.

    >>> table = hotspot_table([{"pair": 7, "key": "k7", "disagreement": 0.33333, "judges_disagreeing": 1,
    ...     "reference": "a", "votes": {"a": 2, "b": 0, "tie": 1},
    ...     "rankings": [{"annotator": "src/ann1", "outcome": "a"}, {"annotator": "src/ann2", "outcome": "tie"}],
    ...     "judges": {"j": "b", "k": None}}])
    >>> table.to_dict("records")  # doctest: +NORMALIZE_WHITESPACE
    [{'pair': 7, 'key': 'k7', 'reference': 'a', 'human votes': 'a 2 · b 0 · tie 1', 'ann1': 'a', 'ann2': 'tie',
      'j': 'b', 'k': 'failed', 'disagreement': 0.33, 'judges off': 1}]
    """
    annotators = short_names(sorted({r["annotator"] for h in hotspots for r in h.get("rankings") or []}))
    taken = set(annotators.values()) | {"pair", "key", "reference", "human votes", "disagreement"}
    judges = {
        j: f"{j} (judge)" if j in taken else j for j in sorted({j for h in hotspots for j in h.get("judges") or {}})
    }
    rows = []
    for spot in hotspots:
        row: dict[str, Any] = {
            "pair": spot["pair"],
            "key": spot.get("key", ""),
            "reference": spot.get("reference") or "none",
            "human votes": votes_text(spot.get("votes")),
        }
        by_annotator = {r["annotator"]: r["outcome"] for r in spot.get("rankings") or []}
        row |= {column: by_annotator.get(name, "") for name, column in annotators.items()}
        outcomes = spot.get("judges") or {}
        row |= {column: (outcomes[j] or "failed") if j in outcomes else "" for j, column in judges.items()}
        row["disagreement"] = round(float(spot.get("disagreement") or 0), 2)
        row["judges off"] = spot.get("judges_disagreeing", 0)
        rows.append(row)
    columns = ["pair", "key", "reference", "human votes", *annotators.values(), *judges.values()]
    return pd.DataFrame(rows, columns=[*columns, "disagreement", "judges off"])


def hotspot_marks(table: pd.DataFrame, colour: str = "background-color: #fde2e1") -> pd.DataFrame:
    """CSS for :func:`hotspot_table` cells (for a pandas Styler): an annotator's or judge's outcome that
    differs from the pair's reference is tinted; pairs without a reference, empty cells and failed judge
    verdicts are left plain.

    >>> table = pd.DataFrame({"pair": [1, 2], "reference": ["a", "none"], "human votes": ["", ""],
    ...                       "ann": ["b", "a"], "j": ["a", "b"], "k": ["failed", ""], "disagreement": [0.3, 0.6]})
    >>> hotspot_marks(table, colour="X").values.tolist()
    [['', '', '', 'X', '', '', ''], ['', '', '', '', '', '', '']]
    """
    marks = pd.DataFrame("", index=table.index, columns=table.columns)
    fixed = {"pair", "key", "reference", "human votes", "disagreement", "judges off"}
    for column in (c for c in table.columns if c not in fixed):
        outcome = table[column]
        off = (table["reference"] != "none") & outcome.isin(["a", "b", "tie"]) & (outcome != table["reference"])
        marks.loc[off, column] = colour
    return marks


# ---------------------------------------------------------------------------------- rubric versions


def version_table(rubric_versions: Sequence[Row]) -> pd.DataFrame:
    """Judge vs human accuracy and kappa per rubric version (the report's ``rubric_versions``, oldest
    first; verdicts under no rubric read "no rubric"), in long form: rubric, judge, metric, value, n.

    >>> version_table([{"rubric": None, "judges": [{"judge": "j", "n": 4, "accuracy": 0.5, "cohen_kappa": None}]},
    ...                {"rubric": "r@1", "judges": [{"judge": "j", "n": 4, "accuracy": 0.75, "cohen_kappa": 0.6}]}]
    ...               ).values.tolist()
    [['no rubric', 'j', 'Accuracy', 0.5, 4], ['r@1', 'j', 'Accuracy', 0.75, 4], ['r@1', 'j', "Cohen's κ", 0.6, 4]]
    """
    rows = []
    for version in rubric_versions:
        for entry in version.get("judges") or []:
            for field in ("accuracy", "cohen_kappa"):
                value = _number(entry.get(field))
                if value is not None:
                    rubric = version.get("rubric") or "no rubric"
                    label = JUDGE_METRICS[field]
                    rows.append(
                        {
                            "rubric": rubric,
                            "judge": entry["judge"],
                            "metric": label,
                            "value": value,
                            "n": entry.get("n", 0),
                        }
                    )
    return pd.DataFrame(rows, columns=["rubric", "judge", "metric", "value", "n"])


def version_lines(data: pd.DataFrame, metric: str, judges: Sequence[str] | None = None) -> alt.LayerChart:
    """How one metric of each judge (colour; pass every judge as `judges` to keep colours the same across
    charts) moves from one rubric version to the next, points labelled with their values. The x axis keeps
    every version in `data`, so both metrics' charts line up.

    >>> data = version_table([{"rubric": "r@1", "judges": [{"judge": "j", "accuracy": 0.5}]}])
    >>> spec = version_lines(data, "Accuracy").to_dict()
    >>> spec["layer"][0]["mark"]["type"], spec["layer"][0]["encoding"]["x"]["field"], spec["title"]["text"]
    ('line', 'rubric', 'Accuracy')
    """
    order = list(dict.fromkeys(data["rubric"]))
    judges = list(judges) if judges else sorted(data["judge"].unique())
    rows = data[data["metric"] == metric]
    base = alt.Chart(rows).encode(
        x=alt.X(
            "rubric:N",
            title="rubric version",
            sort=order,
            scale=alt.Scale(domain=order),
            axis=alt.Axis(labelAngle=0, labelFontSize=12),
        ),
        y=alt.Y("value:Q", title=None, scale=alt.Scale(domain=_domain(data["value"]))),
        color=alt.Color("judge:N", scale=alt.Scale(domain=judges), legend=alt.Legend(orient="top", labelLimit=240)),
    )
    lines = base.mark_line(point=alt.OverlayMarkDef(size=70)).encode(
        tooltip=[
            "rubric:N",
            "judge:N",
            "metric:N",
            alt.Tooltip("value:Q", format=".3f"),
            alt.Tooltip("n:Q", title="pairs"),
        ],
    )
    labels = base.mark_text(dy=-10, fontSize=11).encode(text=alt.Text("value:Q", format=".2f"))
    return alt.layer(lines, labels).properties(
        height=240, autosize=FIT_WIDTH, title=alt.TitleParams(metric, anchor="start")
    )


# ---------------------------------------------------------------- certified routing


def routing_table(status: Row) -> pd.DataFrame:
    """Per judge of the routed calibration: its signal, threshold, certified bound (the disagreement it may
    have at most, at 1−δ) and the routed pairs it accepted, with their share of all routed pairs.

    `status` is ``GET /projects/{id}/routing``. A judge that certified nothing has no threshold and no bound.

    >>> status = {"pairs": 10, "by_judge": {"j": 6}, "calibration": {"judges": [
    ...     {"judge": "j", "signal": "order", "threshold": 1.0, "risk_upper_bound": 0.2, "accepted": 40},
    ...     {"judge": "k", "signal": "order", "threshold": None, "risk_upper_bound": None, "accepted": 0}]}}
    >>> routing_table(status)[["judge", "threshold", "bound", "accepted", "coverage"]].values.tolist()
    [['j', 1.0, 0.2, 6, 0.6], ['k', None, None, 0, 0.0]]
    """
    calibration = status.get("calibration") or {}
    pairs = int(status.get("pairs") or 0)
    by_judge = status.get("by_judge") or {}
    rows = [
        {
            "judge": judge["judge"],
            "signal": judge["signal"],
            "threshold": judge.get("threshold"),
            "bound": judge.get("risk_upper_bound"),
            "calibration_accepted": judge.get("accepted", 0),
            "accepted": int(by_judge.get(judge["judge"], 0)),
            "coverage": by_judge.get(judge["judge"], 0) / pairs if pairs else 0.0,
        }
        for judge in calibration.get("judges") or []
    ]
    columns = ["judge", "signal", "threshold", "bound", "calibration_accepted", "accepted", "coverage"]
    return pd.DataFrame(rows, columns=columns).astype(object).where(lambda frame: frame.notna(), None)


def coverage_bars(table: pd.DataFrame, alpha: float | None = None) -> alt.LayerChart:
    """Coverage per judge (share of routed pairs it accepted) beside its certified bound, with α as a rule.

    >>> table = routing_table({"pairs": 4, "by_judge": {"j": 2}, "calibration": {"judges": [
    ...     {"judge": "j", "signal": "order", "threshold": 1.0, "risk_upper_bound": 0.2, "accepted": 40}]}})
    >>> [layer["mark"]["type"] for layer in coverage_bars(table, alpha=0.25).to_dict()["layer"]]
    ['bar', 'text', 'rule']
    """
    long = pd.DataFrame(
        [
            {"judge": row["judge"], "figure": figure, "value": float(row[field] or 0.0)}
            for row in table.to_dict("records")
            for figure, field in (("coverage", "coverage"), ("certified bound", "bound"))
        ],
        columns=["judge", "figure", "value"],
    )
    base = alt.Chart(long).encode(
        x=alt.X("judge:N", title=None, axis=alt.Axis(labelAngle=0, labelLimit=240)),
        xOffset=alt.XOffset("figure:N"),
        y=alt.Y("value:Q", title=None, scale=alt.Scale(domain=[0.0, 1.0])),
    )
    bars = base.mark_bar().encode(
        color=alt.Color(
            "figure:N",
            scale=alt.Scale(domain=["coverage", "certified bound"], range=[JUDGE_COLOUR, HUMAN_COLOUR]),
            legend=alt.Legend(orient="top", title=None),
        ),
        tooltip=["judge:N", "figure:N", alt.Tooltip("value:Q", format=".3f")],
    )
    labels = base.mark_text(dy=-7, fontSize=11).encode(text=alt.Text("value:Q", format=".2f"))
    rule = alt.Chart(pd.DataFrame({"alpha": [alpha if alpha is not None else 0.0]})).mark_rule(
        strokeDash=[4, 3], color="#d62728"
    )
    rule = rule.encode(y="alpha:Q", opacity=alt.value(1.0 if alpha is not None else 0.0))
    return alt.layer(bars, labels, rule).properties(height=240, autosize=FIT_WIDTH)
