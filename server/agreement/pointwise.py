"""Pointwise agreement: a judge's 1..N scores against people's, per criterion, at the ordinal level.

Items are responses that the judge and at least one person scored under the counted rubric version
(:mod:`server.score_labels`: one rubric name, semver per scorer). The people's reference of a response is
the lower median of their levels (a level of the scale, never a mean between two). Figures:

- **weighted kappa** (quadratic weights over the levels 1..N; scikit-learn) of the judge against that
  reference, with a percentile bootstrap interval over responses;
- **Krippendorff's alpha, ordinal** over every person with the judge as one more rater, and over the
  people alone (the ``krippendorff`` package), so a judge that fits in as well as another person shows.
- **exact**: the share of responses where the judge's level equals the reference.

>>> v = RubricVersionRef(1, "sft-quality", "1.0.0")
>>> found = [ScoreLabel(i, i, "j", False, {"overall": lv}, rubric=v) for i, lv in enumerate([1, 2, 4, 5], 1)]
>>> found += [ScoreLabel(10 + i, i, "ann", True, {"overall": lv}, rubric=v) for i, lv in enumerate([1, 3, 4, 5], 1)]
>>> row = pointwise_rows(found, {None: 5}, Bootstrap(resamples=0))[0]
>>> row.n, row.exact, round(row.weighted_kappa.value, 3)
(4, 0.75, 0.947)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from statistics import median_low

import numpy as np

from server.agreement.metrics import cohen_kappa, confusion_features, kappa_from_confusion, krippendorff_alpha
from server.agreement.models import Bootstrap, Estimate, PointwiseAgreement, number
from server.labels import RubricVersionRef
from server.rubric_registry import resolve
from server.score_labels import ScoreLabel, counted_scores, read_scores, scorers
from server.storage import Repository


def _row(
    judge: str, criterion: str | None, levels: int, counted: Sequence[ScoreLabel], draw: Bootstrap
) -> PointwiseAgreement | None:
    ordered = sorted(counted, key=lambda s: s.id)  # of two scores of one response, the newer counts
    mine = {
        s.response_id: s.level(criterion) for s in ordered if s.scorer == judge and not s.human and s.level(criterion)
    }
    people: dict[int, dict[str, int]] = {}
    for score in counted:
        if score.human and (level := score.level(criterion)) is not None and score.response_id in mine:
            people.setdefault(score.response_id, {})[score.scorer] = level
    items = sorted(people)
    if not items:
        return None
    judged = [mine[rid] for rid in items]
    reference = [median_low(people[rid].values()) for rid in items]
    names = sorted({name for found in people.values() for name in found})
    humans = [[people[rid].get(name) for rid in items] for name in names]
    domain = list(range(1, levels + 1))
    features = confusion_features(np.array(judged) - 1, np.array(reference) - 1, levels)
    statistic = lambda s: kappa_from_confusion(s.reshape(-1, levels, levels), "quadratic")  # noqa: E731
    interval = draw.intervals(features, statistic)[0]
    return PointwiseAgreement(
        judge=judge,
        rubric=next((s.rubric.ref for s in counted if s.scorer == judge and s.rubric), None),
        criterion=criterion,
        levels=levels,
        n=len(items),
        annotators=len(names),
        exact=sum(a == b for a, b in zip(judged, reference, strict=True)) / len(items),
        weighted_kappa=Estimate.of(cohen_kappa(judged, reference, weights="quadratic", labels=domain), interval),
        krippendorff_alpha_with_judge=number(krippendorff_alpha([judged, *humans], "ordinal", domain)),
        krippendorff_alpha_humans=number(krippendorff_alpha(humans, "ordinal", domain)) if len(names) > 1 else None,
    )


def pointwise_rows(
    counted: Sequence[ScoreLabel], levels: Mapping[str | None, int], draw: Bootstrap
) -> list[PointwiseAgreement]:
    """Per judge, the overall level (criterion None) and each criterion of `levels` (criterion → N)."""
    rows = []
    for judge in scorers(counted, human=False):
        for criterion, points in levels.items():
            if (row := _row(judge, criterion, points, counted, draw)) is not None:
                rows.append(row)
    return rows


def pointwise_agreement(
    repo: Repository, project_id: int, rubric: str | None, draw: Bootstrap
) -> list[PointwiseAgreement]:
    """The project's pointwise judge–human agreement (empty without both judges' and people's scores)."""
    found = read_scores(repo, project_id)
    if not any(s.human for s in found) or all(s.human for s in found):
        return []
    version: RubricVersionRef | str | None = None
    if rubric is not None:  # NAME: each scorer's newest version of it; NAME@VERSION: exactly that one
        row, model = resolve(repo, rubric)
        version = RubricVersionRef(row.id, model.name, model.version) if "@" in rubric else model.name
    counted = counted_scores(found, version)
    version_ids = {s.rubric.id for s in counted if s.rubric is not None}
    if not version_ids:
        return []
    content = repo.rubric_version(max(version_ids)).content  # one rubric name: its criteria and scales
    levels: dict[str | None, int] = {c["id"]: max(int(k) for k in c["scale"]["levels"]) for c in content["criteria"]}
    return pointwise_rows(counted, {None: max(levels.values()), **levels}, draw)
