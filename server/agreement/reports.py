"""The agreement report of a project: people with each other, judges with people, bias and anchoring.

What counts, in one place:

- **Items** are pairs. A human vote is a ranking's outcome (or, with a ``criterion``, its outcome for
  that criterion). A judge's judgement of a pair is :func:`server.labels.judgement`: its verdicts in
  both presentation orders combined by :func:`rubrics.outcomes.combine_orders` (orders that disagree
  count as a tie); of several verdicts in one order (other sampling parameters) the newest counts.
- **The human reference** of a pair is its adjudicated outcome when it has one, else the strict majority
  of its human votes (:func:`rubrics.outcomes.strict_majority`); pairs without one are left out of
  judge-vs-human metrics.
- **Rubric versions.** With ``rubric`` (``NAME@VERSION``, or ``NAME`` for its newest version) only
  verdicts under that version count, and rankings made under it or under no rubric. Without it, each
  judge is scored on its verdicts under the version :func:`server.labels.counted_versions` counts (the
  newest by semver of the rubric it was last run with; the row says which); ``rubric_versions`` lists
  every version side by side.
- **Failed judgements** (every verdict of the judge on the pair failed) count as a ``tie`` by default,
  the convention of the PandaLM authors; ``failed="exclude"`` leaves those pairs out. Rows say how many.
- **Intervals** are percentile bootstrap intervals over pairs (one :class:`~server.agreement.models.Bootstrap`
  value: ``resamples``, ``confidence``, ``seed``); a figure and its interval are one
  :class:`~server.agreement.models.Estimate`.
- **Anchoring** compares, per judge shown in assisted mode, how often reviewers agree with that judge's
  judgement in assisted versus blind assignments. The judge is the one assisted mode shows
  (:func:`server.labels.shown_judgement` over the verdicts stored before the ranking); it always uses the
  overall outcome, which is what assisted mode shows.

The parts are pure functions over :mod:`server.agreement.items` (:mod:`~server.agreement.humans`,
:mod:`~server.agreement.judges`, :mod:`~server.agreement.bias`); the JSON shape is
:class:`~server.agreement.models.AgreementReport` (and ``CompareReport`` for two rubric versions).

>>> from server.agreement.items import Project
>>> from server.labels import PairLabels, RankingLabel
>>> pair = PairLabels(1, rankings=(RankingLabel("ann", "a"), RankingLabel("bob", "a")))
>>> report(Project(1, "p", [pair], None), ReportOptions(resamples=0)).counts.references
{'a': 1, 'b': 0, 'tie': 0}
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rubrics.outcomes import OUTCOMES
from server.agreement.bias import anchoring, judge_bias
from server.agreement.humans import annotator_stats, human_agreement
from server.agreement.items import (
    CODE,
    Item,
    Progress,
    Project,
    Version,
    annotators_of,
    load_project,
    matrix,
    version_order,
    versions_rule,
)
from server.agreement.judges import Judged, hotspots, judge_annotators, judge_human, judge_vote, scored
from server.agreement.metrics import (
    classification_scores,
    confusion_features,
    krippendorff_alpha,
    scores_from_confusion,
)
from server.agreement.models import (
    METRICS,
    AgreementReport,
    CompareJudge,
    CompareReport,
    Counts,
    Estimate,
    HumanHuman,
    JudgeHuman,
    ProjectRef,
    ReportOptions,
    RubricVersionRow,
    ScoreChange,
    Scores,
    VersionJudge,
    number,
)
from server.agreement.pointwise import pointwise_agreement
from server.agreement.review_signals import stored_signals
from server.labels import RubricVersionRef, counted_versions
from server.routing.audit import project_audit
from server.rubric_registry import resolve
from server.storage import Repository

__all__ = [
    "AgreementReport",
    "CompareReport",
    "ReportOptions",
    "agreement_report",
    "compare_report",
    "finish_report",
    "read_project",
    "report",
]


def _ref(version: Version) -> str | None:
    return None if version is None else version.ref


def _resolve(repo: Repository, ref: str) -> RubricVersionRef:
    row, rubric = resolve(repo, ref)
    return RubricVersionRef(row.id, rubric.name, rubric.version)


def _judged(project: Project, items: list[Item], judge: str, version: Version) -> Judged:
    return {n: found for n, item in enumerate(items) if (found := project.judgement(item.pair, judge, version))}


def _criterion_rows(
    project: Project, rubric: Version, chosen: dict[str, Version], options: ReportOptions
) -> tuple[list[Any], list[JudgeHuman]]:
    """Per criterion: people's agreement and each judge's scores (judges that never gave it: no row)."""
    humans, judges = [], []
    for criterion in project.criteria:
        scoped = Project(project.id, project.name, project.pairs, criterion)
        items = scoped.items(versions_rule(rubric) if rubric else None)
        humans.append(human_agreement(items, options.bootstrap, criterion))
        for judge, version in chosen.items():
            judged = _judged(scoped, items, judge, version)
            if any(not j.failed for j in judged.values()):
                judges.append(
                    judge_human(judge, _ref(version), items, judged, options.failed, options.bootstrap, criterion)
                )
    return humans, judges


def report(project: Project, options: ReportOptions, rubric: Version = None) -> AgreementReport:
    """The whole report over a project's labels (see the module docstring for what counts)."""
    items = project.items(versions_rule(rubric) if rubric else None)
    chosen = counted_versions(project.verdicts, rubric)
    judged = {judge: _judged(project, items, judge, version) for judge, version in chosen.items()}
    if options.criterion is not None:  # judges that never gave this criterion are not scored on it
        judged = {judge: found for judge, found in judged.items() if any(not j.failed for j in found.values())}
        chosen = {judge: version for judge, version in chosen.items() if judge in judged}
    ref = {judge: _ref(version) for judge, version in chosen.items()}
    draw, failed = options.bootstrap, options.failed
    judge_rows = [judge_human(j, ref[j], items, judged[j], failed, draw) for j in chosen]
    per_criterion: list[Any] = []
    if options.criterion is None:
        per_criterion, criterion_rows = _criterion_rows(project, rubric, chosen, options)
        judge_rows += criterion_rows
    human = human_agreement(items, draw)
    return AgreementReport(
        project=ProjectRef(id=project.id, name=project.name),
        rubric=_ref(rubric),
        criterion=options.criterion,
        settings=options.settings(),
        counts=Counts(
            pairs=len(items),
            rankings=sum(len(item.votes) for item in items),
            verdicts=sum(1 for v in project.verdicts if v.judge in chosen and chosen[v.judge] == v.rubric),
            annotators=len(human.annotators),
            judges=len(chosen),
            references={o: sum(item.reference == o for item in items) for o in OUTCOMES},
        ),
        annotators=annotator_stats(items, options.criterion),
        human_human=HumanHuman(**dict(human), criteria=per_criterion),
        judge_human=judge_rows,
        judge_annotator=[row for j in chosen for row in judge_annotators(j, ref[j], items, judged[j], failed)],
        judge_bias=[judge_bias(j, ref[j], items, judged[j], draw) for j in chosen],
        hotspots=hotspots(items, judged, options.hotspots),
        anchoring=anchoring(items, counted_versions(project.verdicts), draw),
        rubric_versions=rubric_versions(project, options),
    )


def agreement_report(
    repo: Repository, project_id: int, options: ReportOptions | None = None, progress: Progress | None = None
) -> AgreementReport:
    """The whole report for a project, read from the store.

    Args:
        repo: a repository over a read session.
        project_id: the project.
        options: rubric / criterion filters, failed-verdict rule, bootstrap settings.
        progress: called with (pairs read, total pairs) while reading.

    Raises:
        NotFound: the project or the rubric version does not exist.
        ValueError: a bad rubric reference or an unknown criterion.
    """
    options = options or ReportOptions()
    project, rubric = read_project(repo, project_id, options, progress)
    return finish_report(repo, project, options, rubric)


def read_project(
    repo: Repository, project_id: int, options: ReportOptions, progress: Progress | None = None
) -> tuple[Project, Version]:
    """What a report reads from the store: the project's labels and the rubric version asked for."""
    rubric = _resolve(repo, options.rubric) if options.rubric else None
    return load_project(repo, project_id, options.criterion, progress), rubric


def finish_report(repo: Repository, project: Project, options: ReportOptions, rubric: Version) -> AgreementReport:
    """:func:`report` over labels already read, with the project's routing audit."""
    found = report(project, options, rubric)
    overall = Project(project.id, project.name, project.pairs, None).items(None)  # assisted mode shows the overall
    signals = stored_signals(repo, project.id, overall, counted_versions(project.verdicts), options.bootstrap)
    return found.model_copy(
        update={
            "audit": project_audit(repo.session, project.id, project.pairs),  # routing
            "pointwise": pointwise_agreement(repo, project.id, options.rubric, options.bootstrap),
            "review_signals": signals,
        }
    )


def _version_row(
    project: Project, version: Version, judges: dict[str, set[Version]], options: ReportOptions
) -> RubricVersionRow:
    items = project.items(versions_rule(version))
    rows = []
    for judge in (j for j in judges if version in judges[j]):
        reference, predicted, _ = scored(items, _judged(project, items, judge, version), options.failed)
        scores = classification_scores(reference, predicted)
        rows.append(
            VersionJudge(
                judge=judge,
                n=len(reference),
                **{m: number(scores[m]) for m in ("accuracy", "macro_f1", "cohen_kappa")},
            )
        )
    rated = [item for item in items if len(item.votes) >= 2]
    return RubricVersionRow(
        rubric=_ref(version),
        rankings=sum(1 for pair in project.pairs for r in pair.rankings if r.rubric == version),
        verdicts=sum(1 for v in project.verdicts if v.rubric == version),
        krippendorff_alpha=number(krippendorff_alpha(matrix(rated, annotators_of(items)))) if rated else None,
        judges=rows,
    )


def rubric_versions(project: Project, options: ReportOptions) -> list[RubricVersionRow]:
    """Every rubric version judges were run with (and unversioned verdicts), side by side, in semver order."""
    judges = project.judges
    versions = sorted({v for found in judges.values() for v in found}, key=version_order)
    return [_version_row(project, version, judges, options) for version in versions]


def _change(s: np.ndarray) -> np.ndarray:
    """new − old per metric from stacked (old, new) confusion features."""
    first = scores_from_confusion(s[:, :9].reshape(-1, 3, 3))
    second = scores_from_confusion(s[:, 9:].reshape(-1, 3, 3))
    return np.column_stack([second[m] - first[m] for m in METRICS])


def compare_judge(
    project: Project,
    items: list[Item],
    judge: str,
    old: RubricVersionRef,
    new: RubricVersionRef,
    options: ReportOptions,
) -> CompareJudge:
    """One judge under two versions on the pairs with a reference judged under both; a paired interval."""
    reference, before, after = [], [], []
    for item in items:
        votes = [judge_vote(project.judgement(item.pair, judge, v), options.failed) for v in (old, new)]
        if item.reference is None or None in votes:
            continue
        reference.append(item.reference)
        before.append(votes[0])
        after.append(votes[1])
    codes = [CODE[r] for r in reference]
    features = np.column_stack(
        [confusion_features(codes, [CODE[o] for o in outcomes], 3) for outcomes in (before, after)]  # type: ignore[index]
    ).reshape(-1, 18)
    intervals = options.bootstrap.intervals(features, _change)
    old_scores, new_scores = classification_scores(reference, before), classification_scores(reference, after)
    change = {}
    for metric, interval in zip(METRICS, intervals, strict=True):
        a, b = number(old_scores[metric]), number(new_scores[metric])
        change[metric] = Estimate.of(None if a is None or b is None else b - a, interval)
    return CompareJudge(
        judge=judge,
        n=len(reference),
        old=Scores(**{m: number(old_scores[m]) for m in METRICS}),
        new=Scores(**{m: number(new_scores[m]) for m in METRICS}),
        change=ScoreChange(**change),
        fixed=sum(r != b and r == a for r, b, a in zip(reference, before, after, strict=True)),
        broken=sum(r == b and r != a for r, b, a in zip(reference, before, after, strict=True)),
    )


def compare_report(
    repo: Repository,
    project_id: int,
    old: str,
    new: str,
    options: ReportOptions | None = None,
    progress: Progress | None = None,
) -> CompareReport:
    """How each judge's agreement with the human reference changes from rubric version `old` to `new`.

    Only pairs with a human reference that the judge judged under both versions count, so the change is
    paired; its interval resamples those pairs once for both versions. Rankings made under either
    version or under no rubric form the reference.
    """
    options = options or ReportOptions()
    old_version, new_version = _resolve(repo, old), _resolve(repo, new)
    if old_version == new_version:
        raise ValueError(f"new: {new_version.ref} is the same version as old")
    project = load_project(repo, project_id, options.criterion, progress)
    items = project.items({None, old_version, new_version})
    rows = [
        compare_judge(project, items, judge, old_version, new_version, options)
        for judge, versions in project.judges.items()
        if old_version in versions and new_version in versions
    ]
    return CompareReport(
        project=ProjectRef(id=project.id, name=project.name),
        old=old_version.ref,
        new=new_version.ref,
        criterion=options.criterion,
        settings=options.settings(),
        judges=rows,
    )
