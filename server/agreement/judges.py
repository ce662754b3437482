"""Judges against people: accuracy, macro P/R/F1 and kappa against the human reference, against each
annotator, and the pairs where people and judges disagree most (hotspots).

A judge's judgement of each item comes from :mod:`server.labels`; ``judged`` maps item index → judgement.

>>> from server.agreement.items import Item
>>> from server.labels import Judgement, PairLabels
>>> items = [Item(PairLabels(n), reference=o) for n, o in enumerate("ab")]
>>> judged = {n: Judgement("j", None, o, None, False, {"ab": o}) for n, o in enumerate("ab")}
>>> scored(items, judged, "tie")
(['a', 'b'], ['a', 'b'], 0)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np

from rubrics.outcomes import OUTCOMES, Outcome
from server.agreement.items import CODE, Item, annotators_of, matrix
from server.agreement.metrics import (
    classification_scores,
    cohen_kappa,
    confusion_features,
    krippendorff_alpha,
    scores_from_confusion,
)
from server.agreement.models import (
    METRICS,
    Bootstrap,
    Estimate,
    Hotspot,
    HotspotVote,
    JudgeAnnotator,
    JudgeHuman,
    number,
)
from server.labels import Judgement

Failed = Literal["tie", "exclude"]
Judged = Mapping[int, Judgement]


def judge_vote(found: Judgement | None, failed: Failed) -> Outcome | None:
    """The judge's outcome for one item; a failed judgement is a tie or nothing (``failed``)."""
    if found is None:
        return None
    if found.failed:
        return "tie" if failed == "tie" else None
    return found.outcome


def scored(items: Sequence[Item], judged: Judged, failed: Failed) -> tuple[list[Outcome], list[Outcome], int]:
    """(reference, judge outcome) over items with a reference and a judgement; and how many the judge failed."""
    reference, predicted, failures = [], [], 0
    for number_, item in enumerate(items):
        found = judged.get(number_)
        if item.reference is None or found is None:
            continue
        failures += found.failed
        if (outcome := judge_vote(found, failed)) is None:
            continue
        reference.append(item.reference)
        predicted.append(outcome)
    return reference, predicted, failures


def judge_human(
    judge: str,
    rubric: str | None,
    items: Sequence[Item],
    judged: Judged,
    failed: Failed,
    draw: Bootstrap,
    criterion: str | None = None,
) -> JudgeHuman:
    """Accuracy, macro P/R/F1 and kappa of one judge against the human reference, with intervals."""
    reference, predicted, failures = scored(items, judged, failed)
    scores = classification_scores(reference, predicted)
    features = confusion_features([CODE[r] for r in reference], [CODE[p] for p in predicted], len(OUTCOMES))
    intervals = draw.intervals(
        features, lambda s: np.column_stack(list(scores_from_confusion(s.reshape(-1, 3, 3)).values()))
    )
    annotators = annotators_of(items)
    with_judge = [*matrix(items, annotators), [judge_vote(judged.get(n), failed) for n in range(len(items))]]
    return JudgeHuman(
        judge=judge,
        rubric=rubric,
        criterion=criterion,
        n=len(reference),
        failed=failures,
        failed_as="tie" if failed == "tie" else "excluded",
        krippendorff_alpha_with_judge=number(krippendorff_alpha(with_judge)) if items else None,
        **{m: Estimate.of(scores[m], i) for m, i in zip(METRICS, intervals, strict=True)},
    )


def judge_annotators(
    judge: str, rubric: str | None, items: Sequence[Item], judged: Judged, failed: Failed
) -> list[JudgeAnnotator]:
    """The judge against each annotator, over the pairs both judged."""
    rows = []
    for name in annotators_of(items):
        both = [
            (item.votes[name], vote)
            for n, item in enumerate(items)
            if name in item.votes and (vote := judge_vote(judged.get(n), failed)) is not None
        ]
        theirs, judges = [p[0] for p in both], [p[1] for p in both]
        rows.append(
            JudgeAnnotator(
                judge=judge,
                rubric=rubric,
                annotator=name,
                n=len(both),
                accuracy=sum(a == b for a, b in both) / len(both) if both else None,
                cohen_kappa=number(cohen_kappa(theirs, judges)) if both else None,
            )
        )
    return rows


def hotspots(items: Sequence[Item], judged: Mapping[str, Judged], limit: int) -> list[Hotspot]:
    """Pairs where people split most, then where most judges disagree with the human reference."""
    found = []
    for n, item in enumerate(items):
        votes = Counter(item.votes.values())
        total = sum(votes.values())
        split = 1 - max(votes.values()) / total if total >= 2 else 0.0
        outcomes = {judge: j.outcome for judge, by_item in judged.items() if (j := by_item.get(n))}
        against = sum(o is not None and item.reference is not None and o != item.reference for o in outcomes.values())
        if split > 0 or against > 0:
            found.append((-split, -against, -total, item.pair.id, n, outcomes, votes, split, against))
    found.sort(key=lambda row: row[:4])
    return [
        Hotspot(
            pair=items[n].pair.id,
            key=items[n].pair.key,
            disagreement=split,
            judges_disagreeing=against,
            reference=items[n].reference,
            votes={o: votes.get(o, 0) for o in OUTCOMES},
            rankings=[HotspotVote(annotator=a, outcome=o) for a, o in sorted(items[n].votes.items())],
            judges=outcomes,
        )
        for *_, n, outcomes, votes, split, against in found[:limit]
    ]
