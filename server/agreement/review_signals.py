"""How reviewers treat the judge's suggestions, and why items go wrong: acceptance, rubber-stamping, taxonomy.

- **Acceptance** of a reviewer: the share of their assisted rankings equal to the suggestion the screen
  showed (:func:`server.labels.shown_judgement` over the verdicts stored before the ranking, the rule of
  :mod:`server.agreement.bias`). Beside it, the same reviewer's agreement in blind mode with the judgement
  that would have been shown; **excess** is acceptance − blind agreement, with a bootstrap interval over
  pairs. A reviewer whose excess interval lies wholly above 0 accepts more than their own blind judgement
  agrees: flagged as **rubber-stamping**.
- **Time on item** (the ranking's seconds): median over assisted rankings that accepted vs overrode.
- **Error taxonomy**: skips (typed reason) and adjudications (typed reason; none given or free text
  only counts as ``other``), counted overall and per rubric version (a skip under its assignment's
  version; an adjudication under the newest version its pair was ranked under), with rates per
  assignment, so a new version's guideline can be seen to cut ``unclear_guideline`` skips.

>>> from server.agreement.models import Bootstrap
>>> cells = {"ann": {0: [1, 1, 0, 0], 1: [1, 1, 0, 0], 2: [0, 0, 1, 0], 3: [0, 0, 1, 1]}}
>>> row = acceptance_rows(cells, {"ann": ([10.0, 20.0], [40.0])}, Bootstrap(resamples=0))[0]
>>> row.acceptance.value, row.blind_agreement.value, row.excess.value, row.seconds_accepting
(1.0, 0.5, 0.5, 15.0)
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from statistics import median
from typing import Any

import numpy as np

from server.agreement.bias import anchoring_stats
from server.agreement.items import Item, Version, version_order
from server.agreement.models import Acceptance, Bootstrap, Estimate, ReviewSignals, TaxonomyRow
from server.labels import rubric_refs, shown_judgement
from server.storage import Repository

CATEGORIES = ("unclear_guideline", "ambiguous_item", "broken_item", "other")
Cells = dict[str, dict[int, list[int]]]  # annotator -> item -> (n_assisted, accepted, n_blind, agreed)


def acceptance_cells(items: Sequence[Item], shown: Mapping[str, Version]) -> tuple[Cells, dict[str, Any]]:
    """Per annotator and item the acceptance cells, and per annotator (accepting, overriding) seconds."""
    cells: Cells = defaultdict(dict)
    seconds: dict[str, tuple[list[float], list[float]]] = defaultdict(lambda: ([], []))
    for n, item in enumerate(items):
        for name, ranking in item.rankings.items():
            if ranking.mode not in ("assisted", "blind"):
                continue
            hint = shown_judgement(item.pair, shown, before=ranking.created_at)
            if hint is None:
                continue
            same = int(ranking.outcome == hint.outcome)
            cells[name][n] = [1, same, 0, 0] if ranking.mode == "assisted" else [0, 0, 1, same]
            if ranking.mode == "assisted" and ranking.seconds is not None:
                seconds[name][0 if same else 1].append(ranking.seconds)
    return dict(cells), dict(seconds)


def _row(name: str | None, features: np.ndarray, times: tuple[list[float], list[float]], draw: Bootstrap) -> Acceptance:
    stats = anchoring_stats(features, draw)
    excess: Estimate = stats["difference"]
    accepting, overriding = times
    return Acceptance(
        annotator=name,
        counts=stats["counts"],
        acceptance=stats["assisted"],
        blind_agreement=stats["blind"],
        excess=excess,
        rubber_stamp=excess.low is not None and excess.low > 0,
        seconds_accepting=median(accepting) if accepting else None,
        seconds_overriding=median(overriding) if overriding else None,
        n_accepting=len(accepting),
        n_overriding=len(overriding),
    )


def acceptance_rows(cells: Cells, seconds: Mapping[str, Any], draw: Bootstrap) -> list[Acceptance]:
    """One row per annotator (by name), from :func:`acceptance_cells`."""
    empty: tuple[list[float], list[float]] = ([], [])
    return [
        _row(name, np.array(list(cells[name].values()), dtype=float), seconds.get(name, empty), draw)
        for name in sorted(cells)
    ]


def overall_row(cells: Cells, seconds: Mapping[str, Any], draw: Bootstrap) -> Acceptance | None:
    """Every reviewer pooled; the bootstrap resamples pairs (a pair's rankings move together)."""
    pooled: dict[int, np.ndarray] = defaultdict(lambda: np.zeros(4))
    for by_item in cells.values():
        for n, cell in by_item.items():
            pooled[n] += cell
    if not pooled:
        return None
    times = ([s for a, _ in seconds.values() for s in a], [s for _, o in seconds.values() for s in o])
    return _row(None, np.array(list(pooled.values())), times, draw)


def category(reason: str | None) -> str:
    """A stored reason as a taxonomy category: anything untyped is `other`.

    >>> category("broken_item"), category(None), category("the text was cut off")
    ('broken_item', 'other', 'other')
    """
    return reason if reason in CATEGORIES else "other"


def taxonomy_rows(
    assignments: Sequence[tuple[str, str | None, Version]], adjudications: Sequence[tuple[Version, str | None]]
) -> list[TaxonomyRow]:
    """Per rubric version: assignments, skips and adjudications by category, and their rates per assignment.

    >>> rows = taxonomy_rows([("skipped", "broken_item", None), ("done", None, None)], [(None, None)])
    >>> rows[0].skips["broken_item"], rows[0].adjudications["other"], rows[0].rates["broken_item"]
    (1, 1, 0.5)
    """
    made: Counter[Version] = Counter(version for _, _, version in assignments)
    skips: dict[Version, Counter[str]] = defaultdict(Counter)
    ruled: dict[Version, Counter[str]] = defaultdict(Counter)
    for status, reason, version in assignments:
        if status == "skipped":
            skips[version][category(reason)] += 1
    for version, reason in adjudications:
        ruled[version][category(reason)] += 1
    rows = []
    for version in sorted(set(made) | set(skips) | set(ruled), key=version_order):
        n = made[version]
        rows.append(
            TaxonomyRow(
                rubric=None if version is None else version.ref,
                assignments=n,
                skips={c: skips[version][c] for c in CATEGORIES},
                adjudications={c: ruled[version][c] for c in CATEGORIES},
                rates={c: (skips[version][c] + ruled[version][c]) / n if n else None for c in CATEGORIES},
            )
        )
    return rows


def review_signals(
    items: Sequence[Item],
    shown: Mapping[str, Version],
    assignments: Sequence[tuple[str, str | None, Version]],
    adjudications: Sequence[tuple[Version, str | None]],
    draw: Bootstrap,
) -> ReviewSignals:
    """The whole section (pure): acceptance per reviewer and overall, flags, taxonomy."""
    cells, seconds = acceptance_cells(items, shown)
    rows = acceptance_rows(cells, seconds, draw)
    by_rubric = taxonomy_rows(assignments, adjudications)
    total = Counter({c: 0 for c in CATEGORIES})
    for row in by_rubric:
        total.update(row.skips)
        total.update(row.adjudications)
    return ReviewSignals(
        overall=overall_row(cells, seconds, draw),
        per_annotator=rows,
        rubber_stamping=[row.annotator for row in rows if row.rubber_stamp and row.annotator],
        taxonomy=dict(total),
        by_rubric=by_rubric,
    )


def stored_signals(
    repo: Repository, project_id: int, items: Sequence[Item], shown: Mapping[str, Version], draw: Bootstrap
) -> ReviewSignals:
    """:func:`review_signals` with the skips and adjudications read from the store."""
    assignments = repo.assignment_reasons(project_id)
    refs = rubric_refs(repo, (version for _, _, version in assignments))
    ranked: dict[int, Version] = {}
    for item in items:  # an adjudication counts under the newest version its pair was ranked under
        versions = [r.rubric for r in item.pair.rankings if r.rubric is not None]
        ranked[item.pair.id] = max(versions, key=version_order) if versions else None
    return review_signals(
        items,
        shown,
        [(status, reason, refs.get(version) if version else None) for status, reason, version in assignments],
        [(ranked.get(pair_id), reason) for pair_id, reason in repo.adjudication_reasons(project_id)],
        draw,
    )
