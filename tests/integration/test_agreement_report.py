"""The agreement report over a project built in a real store (SQLite and PostgreSQL), checked against
numbers computed here from the labels as they were written.

The project: 60 pairs, three reviewers (ann ranks under hhh@1.0.0, cyd under hhh@1.0.1, bob under no
rubric; ann alternates assisted/blind, bob is blind, cyd assisted), one judge `j1` run in both orders
under both rubric versions (better under the second), one judge `j2` run in one order without a rubric
(every tenth verdict failed, one pair re-judged), an adjudicated pair and two gold pairs.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, cohen_kappa_score, precision_recall_fscore_support

from rubrics.outcomes import combine_orders, strict_majority
from server.agreement import krippendorff_alpha
from server.agreement.models import AgreementReport, ReportOptions
from server.agreement.reports import agreement_report, compare_report
from server.storage import Repository, Store
from tests.conftest import Api
from tests.support.agreement_world import PEOPLE, V1, V2, World, build


@pytest.fixture
def world(store: Store) -> World:
    return build(store)


def report(store: Store, world: World, **options: object) -> AgreementReport:
    with store.read() as session:
        return agreement_report(Repository(session), world.project_id, ReportOptions.model_validate(options))


def reference(world: World, number: int, people: tuple[str, ...] = PEOPLE) -> str | None:
    if number in world.adjudicated:
        return world.adjudicated[number]
    return strict_majority([world.votes[number][n] for n in people])  # type: ignore[arg-type]


def sklearn_scores(truth: list[str], predicted: list[str]) -> dict[str, float]:
    p, r, f, _ = precision_recall_fscore_support(truth, predicted, average="macro", zero_division=0)
    return {
        "accuracy": accuracy_score(truth, predicted),
        "macro_precision": p,
        "macro_recall": r,
        "macro_f1": f,
        "cohen_kappa": cohen_kappa_score(truth, predicted),
    }


def test_each_judge_is_scored_on_its_newest_rubric_version_against_the_reference(store: Store, world: World) -> None:
    result = report(store, world, resamples=200)
    rows = {row.judge: row for row in result.judge_human if row.criterion is None}
    assert rows["j1"].rubric == V2 and rows["j2"].rubric is None
    j1 = [combine_orders(ab, ba).outcome for ab, ba in world.j1[V2]]  # type: ignore[arg-type]
    kept = [n for n in range(60) if reference(world, n)]
    expected = sklearn_scores([reference(world, n) for n in kept], [j1[n] for n in kept])  # type: ignore[misc]
    for metric, value in expected.items():
        assert getattr(rows["j1"], metric).value == pytest.approx(value), metric
        low, high = getattr(rows["j1"], metric).interval
        assert low <= value <= high
    j2 = [o or "tie" for o in world.j2]  # failed judgements count as ties by default
    assert rows["j2"].failed == sum(o is None and reference(world, n) is not None for n, o in enumerate(world.j2))
    assert rows["j2"].accuracy.value == pytest.approx(np.mean([j2[n] == reference(world, n) for n in kept]))
    assert result.counts.references["tie"] == sum(reference(world, n) == "tie" for n in range(60))
    matrix = [[world.votes[n][p] for n in range(60)] for p in PEOPLE]
    assert rows["j1"].krippendorff_alpha_with_judge == pytest.approx(krippendorff_alpha([*matrix, j1]))
    excluded = report(store, world, resamples=0, failed="exclude")
    j2_row = next(r for r in excluded.judge_human if r.judge == "j2" and r.criterion is None)
    assert j2_row.n == rows["j2"].n - rows["j2"].failed and j2_row.failed_as == "excluded"


def test_people_with_each_other_pairwise_and_overall(store: Store, world: World) -> None:
    result = report(store, world, resamples=200)
    humans = result.human_human
    assert [tuple(p.annotators) for p in humans.pairwise] == [("ann", "bob"), ("ann", "cyd"), ("bob", "cyd")]
    for pair in humans.pairwise:
        first, second = ([world.votes[n][who] for n in range(60)] for who in pair.annotators)
        assert pair.n == 60 and pair.cohen_kappa.value == pytest.approx(cohen_kappa_score(first, second))
        assert pair.cohen_kappa.low <= pair.cohen_kappa.value <= pair.cohen_kappa.high
    matrix = [[world.votes[n][p] for n in range(60)] for p in PEOPLE]
    assert humans.krippendorff_alpha.value == pytest.approx(krippendorff_alpha(matrix))
    [criterion] = humans.criteria
    helpful = [[world.helpful[n][p] for n in range(60)] for p in PEOPLE]
    assert criterion.criterion == "helpful"
    assert criterion.krippendorff_alpha.value == pytest.approx(krippendorff_alpha(helpful))
    assert {row.criterion for row in result.judge_human} == {None, "helpful"}  # j2 has no criteria: j1 only
    assert [row.judge for row in result.judge_human if row.criterion] == ["j1"]


def test_a_rubric_version_keeps_its_verdicts_and_its_own_or_unversioned_rankings(store: Store, world: World) -> None:
    result = report(store, world, rubric=V1, resamples=0)
    assert result.rubric == V1 and [(row.judge, row.criterion) for row in result.judge_human] == [
        ("j1", None),
        ("j1", "helpful"),
    ]
    assert result.human_human.annotators == ["ann", "bob"]  # cyd ranked under V2
    j1 = [combine_orders(ab, ba).outcome for ab, ba in world.j1[V1]]  # type: ignore[arg-type]
    kept = [n for n in range(60) if reference(world, n, ("ann", "bob"))]
    expected = accuracy_score([reference(world, n, ("ann", "bob")) for n in kept], [j1[n] for n in kept])
    assert result.judge_human[0].accuracy.value == pytest.approx(expected)
    versions = {row.rubric: row for row in report(store, world, resamples=0).rubric_versions}
    assert set(versions) == {None, V1, V2}
    assert versions[V1].judges[0].accuracy == pytest.approx(expected)
    assert (versions[V1].rankings, versions[V2].rankings, versions[None].rankings) == (60, 60, 60)
    assert [j.judge for j in versions[None].judges] == ["j2"]


def test_compare_two_rubric_versions_with_a_paired_interval(store: Store, world: World) -> None:
    with store.read() as session:
        result = compare_report(Repository(session), world.project_id, V1, V2, ReportOptions(resamples=500))
    [row] = result.judges
    before = [combine_orders(ab, ba).outcome for ab, ba in world.j1[V1]]  # type: ignore[arg-type]
    after = [combine_orders(ab, ba).outcome for ab, ba in world.j1[V2]]  # type: ignore[arg-type]
    kept = [n for n in range(60) if reference(world, n)]
    truth = [reference(world, n) for n in kept]
    old, new = sklearn_scores(truth, [before[n] for n in kept]), sklearn_scores(truth, [after[n] for n in kept])  # type: ignore[arg-type]
    assert (result.old, result.new, row.judge, row.n) == (V1, V2, "j1", len(kept))
    assert row.old.accuracy == pytest.approx(old["accuracy"]) and row.new.accuracy == pytest.approx(new["accuracy"])
    assert row.change.cohen_kappa.value == pytest.approx(new["cohen_kappa"] - old["cohen_kappa"])
    low, high = row.change.accuracy.interval
    assert low <= row.change.accuracy.value <= high
    assert row.fixed == sum(before[n] != reference(world, n) == after[n] for n in kept)
    assert row.broken == sum(before[n] == reference(world, n) != after[n] for n in kept)
    assert row.fixed - row.broken == round(len(kept) * row.change.accuracy.value)
    with store.read() as session, pytest.raises(ValueError, match="same version"):
        compare_report(Repository(session), world.project_id, V1, "hhh@1.0.0")


def test_position_and_length_bias(store: Store, world: World) -> None:
    bias = {row.judge: row for row in report(store, world, resamples=100).judge_bias}
    pairs = world.j1[V2]
    assert bias["j1"].counts.both_orders == 60 and bias["j1"].counts.consistent == sum(ab == ba for ab, ba in pairs)
    decisive = [(order, o) for ab, ba in pairs for order, o in (("ab", ab), ("ba", ba)) if o != "tie"]
    first = sum((order, o) in (("ab", "a"), ("ba", "b")) for order, o in decisive)
    assert bias["j1"].first_position_rate.value == pytest.approx(first / len(decisive))
    combined = [combine_orders(ab, ba).outcome for ab, ba in pairs]  # type: ignore[arg-type]
    longer = ["a" if la > lb else "b" if lb > la else None for la, lb in world.lengths]
    judged = [n for n in range(60) if longer[n] and combined[n] != "tie"]
    assert bias["j1"].longer_wins_judge.value == pytest.approx(np.mean([combined[n] == longer[n] for n in judged]))
    human = [n for n in range(60) if longer[n] and reference(world, n) in ("a", "b")]
    assert bias["j1"].longer_wins_humans.value == pytest.approx(
        np.mean([reference(world, n) == longer[n] for n in human])
    )
    assert bias["j2"].consistency.value is None and bias["j2"].n == 54  # one order; six failed pairs judged nothing


def test_anchoring_compares_agreement_with_the_judge_shown(store: Store, world: World) -> None:
    rows = {row.judge: row for row in report(store, world, resamples=300).anchoring}
    # assisted mode shows the newest usable verdict's judge: j2, or j1 (under V2) where j2 failed
    shown = {
        n: ("j2", world.j2[n]) if world.j2[n] else ("j1", combine_orders(*world.j1[V2][n]).outcome)  # type: ignore[arg-type]
        for n in range(60)
    }
    assert set(rows) == {"j1", "j2"}
    for judge, row in rows.items():
        cells = [
            (world.modes[p][n], world.votes[n][p] == shown[n][1])
            for n in range(60)
            for p in PEOPLE
            if shown[n][0] == judge
        ]
        assisted = [agree for mode, agree in cells if mode == "assisted"]
        blind = [agree for mode, agree in cells if mode == "blind"]
        assert row.counts == {"assisted": len(assisted), "blind": len(blind)}
        assert row.assisted.value == pytest.approx(np.mean(assisted))
        assert row.blind.value == pytest.approx(np.mean(blind))
        assert row.difference.value == pytest.approx(np.mean(assisted) - np.mean(blind))
        assert [p.annotator for p in row.per_annotator] == list(PEOPLE)
    j2 = rows["j2"]
    assert j2.difference.low <= j2.difference.value <= j2.difference.high
    bob = next(p for p in j2.per_annotator if p.annotator == "bob")
    assert bob.assisted.value is None and bob.counts["assisted"] == 0  # bob reviewed blind only


def test_annotators_gold_and_hotspots(store: Store, world: World) -> None:
    result = report(store, world, resamples=0, hotspots=5)
    ann = next(a for a in result.annotators if a.annotator == "ann")
    assert ann.n == 60 and ann.modes == {"assisted": 30, "blind": 30}
    assert ann.median_seconds == pytest.approx(np.median([10 + n for n in range(60)]))
    assert ann.tie_rate == pytest.approx(np.mean([world.votes[n]["ann"] == "tie" for n in range(60)]))
    assert ann.gold_n == 2 and ann.gold_accuracy == np.mean([world.votes[n]["ann"] == o for n, o in world.gold.items()])
    agree = sum(world.votes[n]["ann"] == world.votes[n][o] for n in range(60) for o in ("bob", "cyd"))
    assert ann.agreement_with_others == pytest.approx(agree / 120)
    assert len(result.hotspots) == 5
    top = result.hotspots[0]
    assert top.key == "p0" and top.votes == {"a": 1, "b": 1, "tie": 1} and top.disagreement == pytest.approx(2 / 3)
    adjudicated = report(store, world, resamples=0, hotspots=60).hotspots
    assert all(h.reference == reference(world, int(h.key[1:])) for h in adjudicated)


def test_criterion_filter_scores_that_criterion(store: Store, world: World) -> None:
    result = report(store, world, criterion="helpful", resamples=0)
    helpful = [[world.helpful[n][p] for n in range(60)] for p in PEOPLE]
    assert result.criterion == "helpful" and result.human_human.criteria == []
    assert result.human_human.krippendorff_alpha.value == pytest.approx(krippendorff_alpha(helpful))
    assert [row.judge for row in result.judge_human] == ["j1"]  # j2's verdicts have no criteria


def test_compare_over_the_api(api: Api) -> None:
    world = build(api.store)
    reply = api.client.get(
        f"/projects/{world.project_id}/agreement/compare",
        params={"old": V1, "new": V2, "resamples": 100},
        headers=api.auth(),
    )
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert (
        body["old"] == V1
        and body["judges"][0]["judge"] == "j1"
        and body["judges"][0]["change"]["accuracy"]["low"] is not None
    )
    same = api.client.get(
        f"/projects/{world.project_id}/agreement/compare", params={"old": V1, "new": V1}, headers=api.auth()
    )
    assert same.status_code == 422 and "same version" in same.json()["error"]["message"]
    filtered = api.client.get(
        f"/projects/{world.project_id}/agreement", params={"rubric": V2, "resamples": 0}, headers=api.auth()
    )
    assert filtered.status_code == 200 and filtered.json()["rubric"] == V2
