"""The report's ``review_signals`` reshaped for the dashboard: acceptance per reviewer, the error taxonomy.

Nothing is computed here beyond rounding and reshaping (server/agreement/review_signals.py computes).

>>> signals = {"per_annotator": [{"annotator": "rex", "counts": {"assisted": 5, "blind": 5},
...     "acceptance": {"value": 1.0}, "blind_agreement": {"value": 0.0},
...     "excess": {"value": 1.0, "low": 1.0, "high": 1.0}, "rubber_stamp": True,
...     "seconds_accepting": 2.0, "seconds_overriding": None, "n_accepting": 5, "n_overriding": 0}]}
>>> acceptance_table(signals).values.tolist()  # doctest: +NORMALIZE_WHITESPACE
[['rex', 1.0, 0.0, '+1.00', '+1.00 – +1.00', 'yes', 2.0, None, 5, 5]]
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import altair as alt
import pandas as pd

from review_ui.charts import FIT_WIDTH, estimate_interval, interval_text, signed_text

Row = Mapping[str, Any]
CATEGORIES = {
    "unclear_guideline": "unclear guideline",
    "ambiguous_item": "ambiguous item",
    "broken_item": "broken item",
    "other": "other",
}
COLOURS = ["#4c78a8", "#f58518", "#e45756", "#9d9d9d"]
COLUMNS = [
    "reviewer", "acceptance", "blind agreement", "excess", "interval", "rubber-stamping",
    "median s accepting", "median s overriding", "assisted", "blind",
]  # fmt: skip


def _share(row: Row, key: str) -> float | None:
    value = (row.get(key) or {}).get("value")
    return None if value is None else round(float(value), 2)


def acceptance_row(row: Row) -> dict[str, Any]:
    """One reviewer (or everyone: ``annotator`` None) as read on screen."""
    counts = row.get("counts") or {}
    return {
        "reviewer": row.get("annotator") or "everyone",
        "acceptance": _share(row, "acceptance"),
        "blind agreement": _share(row, "blind_agreement"),
        "excess": signed_text((row.get("excess") or {}).get("value")),
        "interval": interval_text(estimate_interval(row, "excess"), signed=True),
        "rubber-stamping": "yes" if row.get("rubber_stamp") else "",
        "median s accepting": row.get("seconds_accepting"),
        "median s overriding": row.get("seconds_overriding"),
        "assisted": int(counts.get("assisted") or 0),
        "blind": int(counts.get("blind") or 0),
    }


def acceptance_table(signals: Row) -> pd.DataFrame:
    """Every reviewer's acceptance of the shown suggestion beside their blind agreement with it."""
    return pd.DataFrame([acceptance_row(r) for r in signals.get("per_annotator") or []], columns=COLUMNS)


def taxonomy_table(signals: Row) -> pd.DataFrame:
    """Long form of the taxonomy per rubric version: rubric, reason, skips, adjudications, rate.

    >>> row = {"rubric": "hhh@1.0.0", "assignments": 4, "skips": {"broken_item": 1},
    ...        "adjudications": {"broken_item": 1}, "rates": {"broken_item": 0.5}}
    >>> taxonomy_table({"by_rubric": [row]}).values.tolist()[2]
    ['hhh@1.0.0', 'broken item', 1, 1, 0.5]
    """
    rows = []
    for version in signals.get("by_rubric") or []:
        for key, label in CATEGORIES.items():
            rows.append(
                {
                    "rubric": version.get("rubric") or "no rubric",
                    "reason": label,
                    "skips": int((version.get("skips") or {}).get(key) or 0),
                    "adjudications": int((version.get("adjudications") or {}).get(key) or 0),
                    "rate": (version.get("rates") or {}).get(key),
                }
            )
    return pd.DataFrame(rows, columns=["rubric", "reason", "skips", "adjudications", "rate"])


def taxonomy_chart(table: pd.DataFrame) -> alt.Chart:
    """Per rubric version (oldest first), skips and adjudications per assignment, stacked by reason.

    >>> table = pd.DataFrame([{"rubric": "r@1", "reason": "other", "skips": 1, "adjudications": 0, "rate": 0.5}])
    >>> taxonomy_chart(table).to_dict()["mark"]["type"]
    'bar'
    """
    versions = list(dict.fromkeys(table["rubric"]))
    return (
        alt.Chart(table.dropna(subset=["rate"]))
        .mark_bar()
        .encode(
            x=alt.X("rubric:N", sort=versions, title="rubric version", axis=alt.Axis(labelAngle=0)),
            y=alt.Y("rate:Q", title="per assignment", stack="zero"),
            color=alt.Color(
                "reason:N",
                scale=alt.Scale(domain=list(CATEGORIES.values()), range=COLOURS),
                legend=alt.Legend(orient="top", title=None),
            ),
            tooltip=["rubric:N", "reason:N", "skips:Q", "adjudications:Q", alt.Tooltip("rate:Q", format=".3f")],
        )
        .properties(height=220, autosize=FIT_WIDTH)
    )
