"""Stored pairs → export input: prompts, responses, every human vote, adjudication and one judge.

>>> # pairs = stored_pairs(repo, project_id, judge="gpt-3.5-turbo")
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from server.export.labels import CertifiedVote, ExportPair, HumanVote, JudgeVote, LabelSource, resolve_label
from server.export.manifest import CertifiedCounts, ExportManifest
from server.export.scored import ScoredManifest, ScoredResponse, ScoreFilters, export_scored_sft
from server.export.trl import ExportFormat, export_dataset
from server.labels import PairLabels, RubricVersionRef, counted_versions, judgement, pair_labels, view_refs
from server.routing.store import calibration_records, decisions
from server.rubric_registry import resolve
from server.score_labels import counted_scores, read_scores, response_scores, scorers
from server.storage import Repository, Store
from server.storage.records import Project
from server.storage.repos.annotators import Person
from server.storage.repository import PairView


def judges_of(views: list[PairView]) -> list[str]:
    return sorted({v.judge_model for view in views for v in view.verdicts if v.kind == "pairwise"})


def _judge_vote(pair: PairLabels, judge: str, counted: dict[str, RubricVersionRef | None]) -> JudgeVote | None:
    """The judge's one label for the pair, by the rule of :mod:`server.labels` (None: none, or all failed)."""
    if judge not in counted:
        return None
    found = judgement(pair.verdicts, judge, counted[judge])
    if found is None or found.outcome is None:
        return None
    version = counted[judge]
    return JudgeVote(
        model=judge, rubric=version.ref if version else None, outcome=found.outcome, consistent=found.consistent
    )


def certified_votes(repo: Repository, project_id: int) -> dict[int, CertifiedVote]:
    """Each routed pair's decision with its calibration's α and δ (certified routing, server/routing)."""
    routed = decisions(repo.session, project_id)
    levels = {r.calibration: (r.alpha, r.delta) for r in calibration_records(repo.session, project_id)}
    return {
        pair: CertifiedVote(
            status=d.status,
            calibration=d.calibration,
            alpha=levels[d.calibration][0],
            delta=levels[d.calibration][1],
            judge=d.judge,
            outcome=d.outcome,
        )
        for pair, d in routed.items()
    }


def stored_pairs(
    repo: Repository,
    project_id: int,
    *,
    judge: str | None = None,
    rubric: str | None = None,
    certified: bool = False,
) -> list[ExportPair]:
    """Every pair of a project with its labels, as `server.export.trl.export_dataset` reads them.

    `judge` names the judge model whose verdicts count for `source="judge"`/`"consensus"`; with one
    judge in the project it is found, with several it must be given. Which of its verdicts count (rubric
    version, orders combined) is the rule of :mod:`server.labels`; `rubric` (NAME or NAME@VERSION) picks
    the version instead. With `certified`, each pair carries its routing decision (`source="certified"`).
    """
    views = repo.pair_views(repo.pairs(project_id))
    judges = judges_of(views)
    if judge is None and len(judges) == 1:
        judge = judges[0]
    elif judge is not None and judge not in judges:
        raise ValueError(f"--judge: no verdicts from {judge!r} in this project (judges: {', '.join(judges) or 'none'})")
    refs = view_refs(repo, views)
    version = None
    if rubric is not None:
        row, model = resolve(repo, rubric)
        version = RubricVersionRef(row.id, model.name, model.version)
    labelled = [pair_labels(view, refs) for view in views]
    counted = counted_versions([v for labels in labelled for v in labels.verdicts], version)
    adjudicators = {a.id: a.name for a in repo.list_annotators()}
    routed = certified_votes(repo, project_id) if certified else {}
    pairs = []
    for view, labels in zip(views, labelled, strict=True):
        pairs.append(
            ExportPair(
                pair_id=str(view.pair.id),
                prompt_id=str(view.prompt.id),
                prompt=view.prompt.messages,
                prompt_is_chat=view.prompt.is_chat,
                response_a=view.response_a.text,
                response_b=view.response_b.text,
                human_labels=[
                    HumanVote(
                        annotator=r.annotator,
                        outcome=r.outcome,  # type: ignore[arg-type]
                        rubric=r.rubric.ref if r.rubric else None,
                    )
                    for r in labels.rankings
                ],
                adjudicated=view.adjudication.outcome if view.adjudication else None,  # type: ignore[arg-type]
                adjudicator=adjudicators.get(view.adjudication.annotator_id) if view.adjudication else None,
                judge=_judge_vote(labels, judge, counted) if judge else None,
                certified=routed.get(view.pair.id),
            )
        )
    return pairs


def _certified_counts(pairs: list[ExportPair], rubric: str | None) -> CertifiedCounts:
    """The routing's share of a certified export: its calibration, and escalated pairs no human labelled."""
    votes = [pair.certified for pair in pairs if pair.certified is not None]
    first = votes[0] if votes else None
    escalated = sum(
        1
        for pair in pairs
        if pair.certified is not None
        and pair.certified.status == "escalated"
        and resolve_label(pair, "humans", rubric=rubric) is None
    )
    return CertifiedCounts(
        calibration=first.calibration if first else None,
        alpha=first.alpha if first else None,
        delta=first.delta if first else None,
        escalated_left_out=escalated,
    )


class ExportOptions(BaseModel):
    """What the CLI and the API ask of an export (TRL format, label rule, filters, split)."""

    model_config = ConfigDict(extra="forbid")
    format: ExportFormat
    source: LabelSource = "humans"
    rubric: str | None = Field(default=None, description="Only votes and verdicts under NAME@VERSION.")
    judge: str | None = Field(default=None, description="Judge model whose verdicts count (source judge/consensus).")
    min_agreement: float | None = Field(default=None, ge=0, le=1)
    drop_ties: bool = False
    test_size: float = Field(default=0.0, ge=0, lt=1)
    seed: int = 0
    min_score: float | None = Field(
        default=None, ge=0, le=1000, description="sft only: keep responses scored at least S (pointwise scores)."
    )
    criterion: str | None = Field(default=None, max_length=64, description="With min_score: this criterion's level.")

    @model_validator(mode="after")
    def _scores_for_sft(self) -> ExportOptions:
        if self.min_score is not None and self.format != "sft":
            raise ValueError("min_score: filtering by score makes sft rows (one response each); use format sft")
        if self.criterion is not None and self.min_score is None:
            raise ValueError("criterion: needs min_score (the level it must reach)")
        return self


def stored_scored(
    repo: Repository, project_id: int, *, rubric: str | None, judge: str | None, criterion: str | None
) -> tuple[list[ScoredResponse], str | None]:
    """Every response of a project with the score it counts with (:mod:`server.score_labels`); (items, judge).

    `judge` names the judge whose scores count where no person scored; with one judge it is found.
    """
    version: RubricVersionRef | str | None = None
    if rubric is not None:  # NAME: each scorer's newest version of it; NAME@VERSION: exactly that one
        row, model = resolve(repo, rubric)
        version = RubricVersionRef(row.id, model.name, model.version) if "@" in rubric else model.name
    counted = counted_scores(read_scores(repo, project_id), version)
    judges = scorers(counted, human=False)
    if judge is None and len(judges) == 1:
        judge = judges[0]
    elif judge is None and len(judges) > 1:
        raise ValueError(f"--judge: several judges scored this project ({', '.join(judges)}); name one")
    elif judge is not None and judge not in judges:
        raise ValueError(f"--judge: no counted scores from {judge!r} (judges: {', '.join(judges) or 'none'})")
    if criterion is not None and not any(s.level(criterion) is not None for s in counted):
        raise ValueError(f"--criterion: no counted score has a level for {criterion!r}")
    picked = response_scores(counted, judge=judge, criterion=criterion)
    items = []
    for response, prompt in repo.scorable_responses(project_id):
        found = picked.get(response.id)
        score = (found.value, found.source, found.scorers, found.rubric) if found else (None, None, (), None)
        items.append(ScoredResponse(str(response.id), str(prompt.id), list(prompt.messages), response.text, *score))
    return items, judge


def _export_scored(
    store: Store, project: Project, options: ExportOptions, out: Path, overwrite: bool
) -> ScoredManifest:
    with store.read() as session:
        repo = Repository(session)
        items, judge = stored_scored(
            repo, project.id, rubric=options.rubric, judge=options.judge, criterion=options.criterion
        )
    filters = ScoreFilters(
        rubric=options.rubric, criterion=options.criterion, min_score=options.min_score or 0.0, judge=judge
    )
    return export_scored_sft(
        items, out=out, filters=filters, test_size=options.test_size, seed=options.seed, overwrite=overwrite
    )


def export_project(
    store: Store,
    project: Project,
    options: ExportOptions,
    out: Path,
    *,
    actor: Person | None = None,
    overwrite: bool = False,
) -> tuple[str, ExportManifest | ScoredManifest]:
    """Export a project's labelled pairs (with `min_score`: its scored responses) to `out`, recorded as a job;
    returns (job id, manifest)."""
    job_id = str(uuid.uuid4())
    certified = options.source == "certified"
    with store.write() as session:
        Repository(session, actor).create_job(job_id, "export", project.id, options.model_dump() | {"out": str(out)})
    try:
        if options.min_score is not None:
            scored = _export_scored(store, project, options, out, overwrite)
            _finish_job(store, actor, job_id, scored.responses_in, scored.responses_exported, out, scored)
            return job_id, scored
        with store.read() as session:
            repo = Repository(session)
            rubric = resolve(repo, options.rubric)[1].ref if options.rubric else None  # a bare NAME: its newest
            pairs = stored_pairs(repo, project.id, judge=options.judge, rubric=rubric, certified=certified)
        manifest = export_dataset(
            pairs,
            format=options.format,
            out=out,
            source=options.source,
            rubric=rubric,
            min_agreement=options.min_agreement,
            drop_ties=options.drop_ties,
            test_size=options.test_size,
            seed=options.seed,
            overwrite=overwrite,
            certified=_certified_counts(pairs, rubric) if certified else None,
        )
    except Exception as exc:
        with store.write() as session:
            Repository(session, actor).update_job(job_id, status="failed", error=str(exc))
        raise
    _finish_job(store, actor, job_id, manifest.pairs_in, manifest.pairs_exported, out, manifest)
    return job_id, manifest


def _finish_job(
    store: Store, actor: Person | None, job_id: str, total: int, done: int, out: Path, manifest: Any
) -> None:
    with store.write() as session:
        Repository(session, actor).update_job(
            job_id,
            status="done",
            total=total,
            done=done,
            result={"out": str(out), "rows": manifest.rows, "dropped": manifest.dropped.model_dump()},
        )
