"""People with each other: Cohen's kappa per pair of annotators, Fleiss' kappa, Krippendorff's alpha,
percent agreement, and per-annotator figures (agreement with the others and with gold, tie rate, time).

>>> from server.agreement.items import Item
>>> from server.labels import PairLabels
>>> items = [Item(PairLabels(n), votes={"ann": o, "bob": o}) for n, o in enumerate("abab")]
>>> human_agreement(items, Bootstrap(resamples=0)).krippendorff_alpha.value
1.0
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Sequence
from itertools import combinations

import numpy as np

from rubrics.outcomes import OUTCOMES, Outcome, strict_majority
from server.agreement.items import CODE, Item, annotators_of, matrix
from server.agreement.metrics import (
    agreement_features,
    alpha_from_coincidences,
    cohen_kappa,
    coincidence_features,
    confusion_features,
    fleiss_features,
    fleiss_from_sums,
    fleiss_kappa,
    fleiss_table,
    kappa_from_confusion,
    krippendorff_alpha,
    percent_agreement,
    ratings,
)
from server.agreement.models import AnnotatorStats, Bootstrap, Estimate, HumanAgreement, PairwiseKappa, number


def pairwise_kappas(
    rated: Sequence[list[Outcome | None]], annotators: Sequence[str], draw: Bootstrap
) -> list[PairwiseKappa]:
    """Cohen's kappa (with its interval) and percent agreement for each pair of annotators."""
    rows = []
    for (i, x), (j, y) in combinations(enumerate(annotators), 2):
        shared = [(a, b) for a, b in zip(rated[i], rated[j], strict=True) if a is not None and b is not None]
        if not shared:
            continue
        first, second = [s[0] for s in shared], [s[1] for s in shared]
        features = confusion_features([CODE[a] for a in first], [CODE[b] for b in second], len(OUTCOMES))
        [interval] = draw.intervals(features, lambda s: kappa_from_confusion(s.reshape(-1, 3, 3)))
        rows.append(
            PairwiseKappa(
                annotators=(x, y),
                n=len(shared),
                cohen_kappa=Estimate.of(cohen_kappa(first, second), interval),
                percent_agreement=sum(a == b for a, b in shared) / len(shared),
            )
        )
    return rows


def human_agreement(items: Sequence[Item], draw: Bootstrap, criterion: str | None = None) -> HumanAgreement:
    """Cohen's kappa per annotator pair, Fleiss' kappa, Krippendorff's alpha and percent agreement."""
    rated = [item for item in items if len(item.votes) >= 2]
    annotators = annotators_of(items)
    votes = matrix(rated, annotators)
    pairwise = pairwise_kappas(votes, annotators, draw)
    if not rated:
        none = Estimate(value=None)
        return HumanAgreement(
            criterion=criterion,
            annotators=annotators,
            n=0,
            pairwise=pairwise,
            fleiss_kappa=none,
            fleiss_n=0,
            krippendorff_alpha=none,
            percent_agreement=none,
        )
    counts = ratings(votes, domain=OUTCOMES).value_counts()
    [alpha_ci] = draw.intervals(coincidence_features(counts), lambda s: alpha_from_coincidences(s.reshape(-1, 3, 3)))
    [agree_ci] = draw.intervals(agreement_features(counts), lambda s: s[:, 0] / s[:, 1])
    table = fleiss_table(votes)
    fleiss_ci = None
    if len(table):
        raters = int(table[0].sum())
        features = np.column_stack([fleiss_features(table), np.ones(len(table))])
        [fleiss_ci] = draw.intervals(features, lambda s: fleiss_from_sums(s[:, :-1], s[:, -1], raters))
    return HumanAgreement(
        criterion=criterion,
        annotators=annotators,
        n=len(rated),
        pairwise=pairwise,
        fleiss_kappa=Estimate.of(fleiss_kappa(votes), fleiss_ci),
        fleiss_n=len(table),
        krippendorff_alpha=Estimate.of(krippendorff_alpha(votes), alpha_ci),
        percent_agreement=Estimate.of(percent_agreement(votes), agree_ci),
    )


def annotator_row(name: str, items: Sequence[Item], criterion: str | None) -> AnnotatorStats:
    """One annotator's figures over the items they voted on."""
    mine = [item for item in items if name in item.votes]
    votes = [item.votes[name] for item in mine]
    seconds = [s for item in mine if (s := item.rankings[name].seconds) is not None]
    agree = others = 0
    theirs: list[Outcome] = []
    majority: list[Outcome] = []
    for item in mine:
        rest = [o for other, o in item.votes.items() if other != name]
        agree += sum(o == item.votes[name] for o in rest)
        others += len(rest)
        if (m := strict_majority(rest)) is not None:
            theirs.append(item.votes[name])
            majority.append(m)
    gold = [item for item in mine if criterion is None and item.pair.is_gold and item.pair.gold_outcome in CODE]
    return AnnotatorStats(
        annotator=name,
        n=len(votes),
        tie_rate=votes.count("tie") / len(votes),
        median_seconds=statistics.median(seconds) if seconds else None,
        modes=dict(Counter(item.rankings[name].mode for item in mine if item.rankings[name].mode)),
        shared=sum(len(item.votes) > 1 for item in mine),
        agreement_with_others=agree / others if others else None,
        kappa_with_others=number(cohen_kappa(theirs, majority)) if theirs else None,
        gold_n=len(gold),
        gold_accuracy=sum(item.votes[name] == item.pair.gold_outcome for item in gold) / len(gold) if gold else None,
    )


def annotator_stats(items: Sequence[Item], criterion: str | None) -> list[AnnotatorStats]:
    """:func:`annotator_row` for every annotator, by name."""
    return [annotator_row(name, items, criterion) for name in annotators_of(items)]
