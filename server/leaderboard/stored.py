"""A project's leaderboard from its stored labels, read through the export's label rule.

Which outcome a pair has is exactly what `rubricate export --source …` would write
(:func:`server.export.labels.resolve_label` over :func:`server.export.stored.stored_pairs`, which reads
judges through :mod:`server.labels`); a pair without one is left out. Which model wrote each side is the
pair's own record (`meta.models`, set on import from `model_a`/`model_b` or PandaLM's `cmp_key`) — the
store keeps one response per text, so a text two models wrote has one response — else the response's
`source` (`model:NAME`, as drafting sets it).

>>> model_of({"models": {"a": "opt-7b"}}, "a", "import"), model_of({}, "b", "model:smollm2")
('opt-7b', 'smollm2')
>>> model_of({}, "a", "import") is None
True
"""

from __future__ import annotations

from typing import Any

from server.export.labels import resolve_label
from server.export.stored import stored_pairs
from server.labels import project_versions, read_pairs, rubric_refs
from server.leaderboard.comparisons import Comparison, pair_counts
from server.leaderboard.comparisons import win_rate as raw_win_rate
from server.leaderboard.length import lc_win_rate
from server.leaderboard.models import Leaderboard, LeaderboardOptions, LeftOut, ModelRow, PairRow
from server.leaderboard.prediction import Labelled, ppi_win_rate
from server.leaderboard.ratings import bradley_terry
from server.routing.labelled import judge_signals, routing_records
from server.routing.store import calibration_record
from server.rubric_registry import resolve
from server.storage import Repository


def model_of(meta: dict[str, Any], side: str, source: str) -> str | None:
    """The model that wrote one side of a pair: the pair's record, else `model:NAME` of the response."""
    named = (meta.get("models") or {}).get(side)
    if isinstance(named, str) and named:
        return named
    return source.removeprefix("model:") or None if source.startswith("model:") else None


def comparisons(
    repo: Repository, project_id: int, options: LeaderboardOptions
) -> tuple[list[Comparison], LeftOut, str | None]:
    """The project's labelled pairs as comparisons of models, what was left out, and the judge that counted."""
    judge = options.judge
    if options.source == "judge" and judge is None:
        judges = sorted(project_versions(repo, project_id))
        if len(judges) != 1:
            raise ValueError(f"--judge: name the judge whose labels count (judges: {', '.join(judges) or 'none'})")
        judge = judges[0]
    rubric = resolve(repo, options.rubric)[1].ref if options.rubric else None
    pairs = stored_pairs(repo, project_id, judge=judge, rubric=rubric, certified=options.source == "certified")
    sources = repo.pair_sources(project_id)
    found, left = [], LeftOut()
    for pair in pairs:
        label = resolve_label(pair, options.source, rubric=rubric)
        meta, source_a, source_b = sources[int(pair.pair_id)]
        a, b = model_of(meta, "a", source_a), model_of(meta, "b", source_b)
        if label is None:
            left.unlabelled += 1
        elif a is None or b is None:
            left.unknown_model += 1
        elif a == b:
            left.same_model += 1
        else:
            found.append(Comparison(a, b, label.outcome, len(pair.response_a), len(pair.response_b)))
    return found, left, judge if options.source != "humans" else None


def prediction_items(repo: Repository, project_id: int, calibration: int) -> list[Labelled]:
    """Every pair of two known models with its human reference under the calibration's rule and the judge label.

    The judge label is the first of the calibration's judges (cheapest first) with an outcome, both orders
    combined, thresholds ignored (as `rubricate estimate` reads it): the predictor is not chosen with the
    human labels that correct it.
    """
    record = calibration_record(repo.session, project_id, calibration)
    version = None
    if record.rubric:
        row, _ = resolve(repo, record.rubric)
        version = rubric_refs(repo, [row.id])[row.id]
    counted = project_versions(repo, project_id, version)
    judges = [judge for judge in record.judge_models if judge in counted]
    pairs = read_pairs(repo, project_id)
    labelled, to_route = routing_records(pairs, judges, "order", counted, include_assisted=record.include_assisted)
    references = {item.pair: item.reference for item in [*labelled, *to_route]}
    sources = repo.pair_sources(project_id)
    items = []
    for pair in pairs:
        meta, source_a, source_b = sources[pair.id]
        a, b = model_of(meta, "a", source_a), model_of(meta, "b", source_b)
        if a is None or b is None or a == b:
            continue
        signals = judge_signals(pair, judges, "order", counted)
        judged = next((found.outcome for j in judges if (found := signals.get(j)) and found.outcome), None)
        items.append(Labelled(a, b, references.get(str(pair.id)), judged))
    return items


def standings(found: list[Comparison], options: LeaderboardOptions) -> list[ModelRow]:
    """One row per model, best rating first."""
    ratings = bradley_terry(found, resamples=options.resamples, level=options.confidence, seed=options.seed)
    rows = []
    for model, fit in ratings.items():
        scores = [c.seen_from(model)[1] for c in found if model in (c.model_a, c.model_b)]
        rows.append(
            ModelRow(
                model=model,
                rating=fit.rating,
                rating_ci=(fit.low, fit.high) if fit.low is not None and fit.high is not None else None,
                win_rate=raw_win_rate(found, model, options.baseline),
                lc_win_rate=lc_win_rate(found, model, options.baseline),
                comparisons=len(scores),
                wins=scores.count(1.0),
                losses=scores.count(0.0),
                ties=scores.count(0.5),
            )
        )
    return sorted(rows, key=lambda row: (-row.rating, row.model))


def leaderboard(repo: Repository, project_id: int, options: LeaderboardOptions) -> Leaderboard:
    """The project's model comparisons under `options` (ValueError: a judge or baseline it does not have)."""
    project = repo.project(project_id)
    found, left, judge = comparisons(repo, project_id, options)
    rows = standings(found, options)
    if options.calibration is not None:
        items = prediction_items(repo, project_id, options.calibration)
        for row in rows:
            row.ppi_win_rate = ppi_win_rate(items, row.model, options.baseline, delta=options.delta)
    if options.baseline is not None and options.baseline not in {row.model for row in rows}:
        known = ", ".join(row.model for row in rows) or "none"
        raise ValueError(f"--baseline: {options.baseline!r} is in no comparison (models: {known})")
    order = [row.model for row in rows]
    return Leaderboard(
        project=project.name,
        source=options.source,
        judge=judge,
        baseline=options.baseline,
        comparisons=len(found),
        left_out=left,
        resamples=options.resamples,
        confidence=options.confidence,
        calibration=options.calibration,
        models=rows,
        pairs=[PairRow(a=p.a, b=p.b, win=p.win, lose=p.lose, tie=p.tie) for p in pair_counts(found, order)],
    )
