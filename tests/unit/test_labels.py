"""The one rule for which verdicts count and how two presentation orders combine (server.labels)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from server.labels import (
    PairLabels,
    RubricVersionRef,
    VerdictLabel,
    counted_versions,
    judgement,
    judgements,
    shown_judgement,
)

# 1.10.0 was published first (lower id) and is older, and "1.9.0" > "1.10.0" as strings:
# only semver puts 1.10.0 last.
NEW = RubricVersionRef(1, "hhh", "1.10.0")
OLD = RubricVersionRef(2, "hhh", "1.9.0")
OTHER = RubricVersionRef(3, "rlhf-5", "2.0.0")
T0 = datetime(2025, 1, 1, tzinfo=UTC)


def verdict(
    number: int, order: str, outcome: str | None, rubric: RubricVersionRef | None, judge: str = "j"
) -> VerdictLabel:
    return VerdictLabel(
        number, judge, order, outcome, failed=outcome is None, rubric=rubric, created_at=T0 + timedelta(minutes=number)
    )  # type: ignore[arg-type]


def test_semver_not_string_not_id_not_time_picks_the_version() -> None:
    found = [
        verdict(1, "ab", "a", NEW),
        verdict(2, "ba", "a", NEW),
        verdict(3, "ab", "b", OLD),
        verdict(4, "ba", "b", OLD),
    ]
    assert counted_versions(found) == {"j": NEW}
    assert judgement(found, "j", NEW).outcome == "a"  # type: ignore[union-attr]
    assert max(["1.9.0", "1.10.0"]) == "1.9.0"  # what a string rule would have picked


def test_versions_of_two_rubric_names_are_never_compared() -> None:
    # rlhf-5@2.0.0 is "bigger" than hhh@1.10.0, but the judge was last run under hhh: hhh's newest counts
    found = [verdict(1, "ab", "a", OTHER), verdict(2, "ab", "b", OLD), verdict(3, "ab", "a", NEW)]
    assert counted_versions(found) == {"j": NEW}
    # last run under rlhf-5: its only version counts, not hhh@1.10.0
    later = [verdict(1, "ab", "a", NEW), verdict(2, "ab", "b", OTHER)]
    assert counted_versions(later) == {"j": OTHER}
    # a version asked for: judges never run under it are left out
    two_judges = [verdict(1, "ab", "a", NEW), verdict(2, "ab", "b", OTHER, judge="k")]
    assert counted_versions(two_judges, OTHER) == {"k": OTHER}


def test_unversioned_verdicts_count_only_without_versioned_ones() -> None:
    assert counted_versions([verdict(1, "ab", "a", None)]) == {"j": None}
    assert counted_versions([verdict(1, "ab", "a", None), verdict(2, "ab", "b", OLD)]) == {"j": OLD}


def test_a_missing_order_stands_alone_with_consistency_unknown() -> None:
    found = judgement([verdict(1, "ba", "b", NEW)], "j", NEW)
    assert found is not None and (found.outcome, found.consistent, dict(found.orders)) == ("b", None, {"ba": "b"})
    both = judgement([verdict(1, "ab", "a", NEW), verdict(2, "ba", "b", NEW)], "j", NEW)
    assert both is not None and (both.outcome, both.consistent) == ("tie", False)
    assert judgement([verdict(1, "ab", "a", OLD)], "j", NEW) is None  # never judged under it


def test_a_failed_verdict_gives_no_outcome_and_the_other_order_stands() -> None:
    one_failed = judgement([verdict(1, "ab", None, NEW), verdict(2, "ba", "a", NEW)], "j", NEW)
    assert one_failed is not None and (one_failed.outcome, one_failed.consistent, one_failed.failed) == (
        "a",
        None,
        False,
    )
    all_failed = judgement([verdict(1, "ab", None, NEW), verdict(2, "ba", None, NEW)], "j", NEW)
    assert all_failed is not None and (all_failed.outcome, all_failed.failed) == (None, True)
    # a failed verdict still says which version the judge was run with
    assert counted_versions([verdict(1, "ab", "a", OLD), verdict(2, "ab", None, NEW)]) == {"j": NEW}


def test_of_two_verdicts_in_one_order_the_newer_counts() -> None:
    found = judgement([verdict(1, "ab", "a", NEW), verdict(2, "ab", "b", NEW)], "j", NEW)
    assert found is not None and found.outcome == "b"


def test_criterion_outcomes_combine_the_same_way() -> None:
    found = [
        VerdictLabel(1, "j", "ab", "a", criteria={"helpful": "b"}, rubric=NEW),
        VerdictLabel(2, "j", "ba", "a", criteria={"helpful": "b"}, rubric=NEW),
    ]
    assert judgement(found, "j", NEW, "helpful").outcome == "b"  # type: ignore[union-attr]
    assert judgement(found, "j", NEW, "honest") is None  # no outcome for that criterion: not judged on it


def test_the_shown_judgement_is_the_counted_one_of_the_newest_judge() -> None:
    pair = PairLabels(
        1,
        verdicts=(
            verdict(1, "ab", "a", NEW),
            verdict(2, "ba", "a", NEW),
            verdict(3, "ab", "b", OLD),  # newer, but under the older version: not what counts
            verdict(4, "ab", None, None, judge="k"),  # failed: never shown
        ),
    )
    counted = counted_versions(pair.verdicts)
    shown = shown_judgement(pair, counted)
    assert shown is not None and (shown.judge, shown.rubric, shown.outcome) == ("j", NEW, "a")
    assert shown_judgement(pair, counted, before=T0 + timedelta(minutes=1)).consistent is None  # type: ignore[union-attr]
    assert set(judgements(pair, counted)) == {"j", "k"}
