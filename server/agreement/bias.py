"""How judges lean, and how reviewers lean on them: position and length bias, anchoring.

>>> import numpy as np
>>> cells = np.array([[1, 1, 0, 0], [0, 0, 1, 0]], dtype=float)  # (n_assisted, agree, n_blind, agree)
>>> stats = anchoring_stats(cells, Bootstrap(resamples=0))
>>> stats["assisted"].value, stats["blind"].value, stats["difference"].value
(1.0, 0.0, 1.0)
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from server.agreement.items import Item, Version
from server.agreement.judges import Judged
from server.agreement.models import Anchoring, AnchoringAnnotator, BiasCounts, Bootstrap, JudgeBias
from server.labels import Judgement, shown_judgement

BIAS_RATES = ("consistency", "first_position_rate", "longer_wins_judge", "longer_wins_humans")


def _bias_features(item: Item, found: Judgement) -> list[bool | int]:
    """Per item: (both orders, consistent, decisive verdicts, first wins, judge side, longer, human side, longer)."""
    orders = found.orders
    both = "ab" in orders and "ba" in orders
    decisive = [(order, o) for order, o in orders.items() if o in ("a", "b")]
    first = sum((order, o) in (("ab", "a"), ("ba", "b")) for order, o in decisive)
    len_a, len_b = item.pair.lengths
    longer = None if len_a == len_b else ("a" if len_a > len_b else "b")
    judge_side = longer is not None and found.outcome in ("a", "b")
    human_side = longer is not None and item.reference in ("a", "b")
    return [
        both,
        both and bool(found.consistent),
        len(decisive),
        first,
        judge_side,
        judge_side and found.outcome == longer,
        human_side,
        human_side and item.reference == longer,
    ]


def _rates(sums: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return sums[:, 1::2] / sums[:, 0::2]


def judge_bias(judge: str, rubric: str | None, items: Sequence[Item], judged: Judged, draw: Bootstrap) -> JudgeBias:
    """Consistency across orders, first-position wins, and how often the longer response wins."""
    rows = [_bias_features(item, found) for n, item in enumerate(items) if (found := judged.get(n)) and found.orders]
    features = np.array(rows, dtype=float).reshape(-1, 8)
    sums = features.sum(axis=0)
    counts = BiasCounts(
        both_orders=int(sums[0]),
        consistent=int(sums[1]),
        decisive_verdicts=int(sums[2]),
        first_position_wins=int(sums[3]),
        judge_decisive_unequal=int(sums[4]),
        humans_decisive_unequal=int(sums[6]),
    )
    estimates = dict(zip(BIAS_RATES, draw.estimates(features, _rates), strict=True))
    return JudgeBias(judge=judge, rubric=rubric, n=len(rows), counts=counts, **estimates)


def _anchoring_rates(s: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        assisted, blind = s[:, 1] / s[:, 0], s[:, 3] / s[:, 2]
    return np.column_stack([assisted, blind, assisted - blind])


def anchoring_stats(features: np.ndarray, draw: Bootstrap) -> dict[str, Any]:
    """Rates from per-item (n_assisted, agree_assisted, n_blind, agree_blind), with intervals."""
    sums = features.sum(axis=0)
    assisted, blind, difference = draw.estimates(features, _anchoring_rates)
    return {
        "n": int(sums[0] + sums[2]),
        "counts": {"assisted": int(sums[0]), "blind": int(sums[2])},
        "assisted": assisted,
        "blind": blind,
        "difference": difference,
    }


def _anchoring_cells(items: Sequence[Item], shown: Mapping[str, Version]) -> dict[str, dict[str, dict[int, list[int]]]]:
    """judge → annotator → item → (n_assisted, agree, n_blind, agree) for the judge shown at ranking time."""
    per_judge: dict[str, dict[str, dict[int, list[int]]]] = defaultdict(lambda: defaultdict(dict))
    for n, item in enumerate(items):
        for name, ranking in item.rankings.items():
            if ranking.mode not in ("assisted", "blind"):
                continue
            hint = shown_judgement(item.pair, shown, before=ranking.created_at)  # in the stored (a, b) order
            if hint is None:
                continue
            agree = int(ranking.outcome == hint.outcome)
            per_judge[hint.judge][name][n] = [1, agree, 0, 0] if ranking.mode == "assisted" else [0, 0, 1, agree]
    return per_judge


def anchoring(items: Sequence[Item], shown: Mapping[str, Version], draw: Bootstrap) -> list[Anchoring]:
    """Agreement with the judge shown in assisted mode, assisted vs blind rankings.

    `shown` is each judge's counted rubric version as the review screen counts it (no report filter).
    """
    per_judge = _anchoring_cells(items, shown)
    rows = []
    for judge in sorted(per_judge):
        by_annotator = per_judge[judge]
        pooled: dict[int, np.ndarray] = defaultdict(lambda: np.zeros(4))
        annotator_rows = []
        for name in sorted(by_annotator):
            for n, cell in by_annotator[name].items():
                pooled[n] += cell
            stats = anchoring_stats(np.array(list(by_annotator[name].values()), dtype=float), draw)
            annotator_rows.append(AnchoringAnnotator(annotator=name, **stats))
        stats = anchoring_stats(np.array(list(pooled.values())), draw)
        rows.append(Anchoring(judge=judge, per_annotator=annotator_rows, **stats))
    return rows
