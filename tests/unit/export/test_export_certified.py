"""`source="certified"`: human labels where they exist, accepted judge labels elsewhere, escalated pairs out."""

from __future__ import annotations

from server.export.labels import CertifiedVote, ExportPair, HumanVote, resolve_label

ACCEPTED = CertifiedVote(status="accepted", calibration="3", alpha=0.25, delta=0.1, judge="gpt+pandalm", outcome="b")
ESCALATED = CertifiedVote(status="escalated", calibration="3", alpha=0.25, delta=0.1)


def pair(votes: tuple[str, ...] = (), certified: CertifiedVote | None = None) -> ExportPair:
    labels = [HumanVote(annotator=f"r{i}", outcome=o) for i, o in enumerate(votes)]  # type: ignore[arg-type]
    return ExportPair(
        pair_id="p",
        prompt_id="q",
        prompt="Hi",
        response_a="A",
        response_b="B",
        human_labels=labels,
        certified=certified,
    )


def test_a_human_label_wins_over_an_accepted_judge_label() -> None:
    label = resolve_label(pair(("a", "a"), ACCEPTED), "certified")
    assert label is not None and (label.outcome, label.source, label.certified_by) == ("a", "humans", None)


def test_an_accepted_judge_label_names_its_calibration_alpha_and_delta() -> None:
    label = resolve_label(pair((), ACCEPTED), "certified")
    assert label is not None and (label.outcome, label.source, label.judge_model) == ("b", "certified", "gpt+pandalm")
    assert label.certified_by == "certified calibration=3 alpha=0.25 delta=0.1"


def test_escalated_or_unrouted_pairs_without_humans_are_unlabelled() -> None:
    assert resolve_label(pair((), ESCALATED), "certified") is None
    assert resolve_label(pair(("a", "b")), "certified") is None  # no strict majority, not routed
    assert resolve_label(pair((), ACCEPTED), "humans") is None  # other sources ignore the routing
