"""Which outcome a pair is exported with, and who stands behind it: the consensus rules of the export.

The export reads pairs through the small input models below (the storage layer adapts its rows into
them) and gives each pair at most one :class:`Label`. The rules, in one place:

- ``source="humans"`` (the default): an adjudicated outcome, when there is one, is the pair's final word
  and overrides the votes (``label.source == "adjudicated"``). Otherwise the human votes decide by
  **strict majority**: an outcome needs more than half of the votes (2 of 3, 3 of 4, 2 of 2). Without a
  strict majority (``a``/``b``/``tie`` 1-1-1, ``a``/``b`` 1-1, no votes) the pair is *unlabelled* and is
  not exported: splitting the difference would invent a label nobody gave. A majority for ``tie`` is a
  label; the export decides what a tie becomes (see :mod:`server.export.trl`).
- ``source="judge"``: the LLM judge's outcome (both presentation orders already combined with
  :func:`rubrics.outcomes.combine_orders`: an inconsistent judgement is a ``tie``), marked
  ``label.source == "judge"`` with the judge model. Human votes are ignored. Judge labels are used only
  when asked for.
- ``source="certified"`` (certified routing, :mod:`server.routing`): the human label where there is one
  (as for ``humans``), else the judge label that routing *accepted* under a calibration, marked
  ``label_source == "certified calibration=ID alpha=A delta=D"`` with the judge. A pair routing escalated
  and no human has labelled yet is unlabelled (the manifest counts them).
- ``source="consensus"``: the human label (adjudicated or majority, as above) **and** the judge agree. The
  row is marked ``"consensus"`` and names both the annotators and the judge model. A pair missing either
  side, or where they disagree, is unlabelled.

A ``rubric`` filter (``name@version``) keeps only the votes and the judgement made under that rubric. An
adjudication is about the pair, not a rubric, and applies under any filter. Without a filter every vote
counts, one per (annotator, rubric).

``agreement`` is the fraction of the label's voters that chose the exported outcome: the human votes plus
the adjudicator (for ``adjudicated``), the human votes (for ``humans`` and ``consensus``), or the judge's
presentation orders (for ``judge``: 1.0 when consistent or judged in one order, 0.0 when the orders
disagreed and the outcome is the resulting ``tie``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from rubrics.outcomes import Outcome, strict_majority

LabelSource = Literal["humans", "judge", "consensus", "certified"]
"""What the caller asks labels to come from."""

RowSource = Literal["humans", "adjudicated", "judge", "consensus", "certified"]
"""What a given label did come from (the ``label_source`` column)."""

Message = dict[str, str]
"""One chat message: ``{"role": ..., "content": ...}``."""


class HumanVote(BaseModel):
    """One annotator's outcome for a pair, under a rubric (``name@version``) or none."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    annotator: str = Field(min_length=1)
    outcome: Outcome
    rubric: str | None = None


class JudgeVote(BaseModel):
    """An LLM judge's combined outcome for a pair (both presentation orders already combined).

    ``outcome`` is None when every judging attempt failed; ``consistent`` is None when only one
    presentation order was judged (see :func:`rubrics.outcomes.combine_orders`).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str = Field(min_length=1)
    rubric: str | None = None
    outcome: Outcome | None = None
    consistent: bool | None = None


class CertifiedVote(BaseModel):
    """A pair's routing decision: the accepted judge outcome (None: escalated) and the calibration behind it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    status: Literal["accepted", "escalated"]
    calibration: str
    alpha: float
    delta: float
    judge: str | None = None
    outcome: Outcome | None = None

    @property
    def label_source(self) -> str:
        """The ``label_source`` of a row labelled by this decision."""
        return f"certified calibration={self.calibration} alpha={self.alpha:g} delta={self.delta:g}"


class ExportPair(BaseModel):
    """A stored pair with its labels, as the export reads it.

    ``prompt`` is the conversation (chat messages). A plain-string prompt may be passed as a string: it
    becomes one user message and ``prompt_is_chat`` is set to False, so the export can write it back as
    a string where the whole dataset is in TRL's standard (non-conversational) format.

    >>> pair = ExportPair(pair_id="p1", prompt_id="q1", prompt="2+2?", response_a="4", response_b="5")
    >>> pair.prompt, pair.prompt_is_chat
    ([{'role': 'user', 'content': '2+2?'}], False)
    """

    model_config = ConfigDict(extra="forbid")

    pair_id: str = Field(min_length=1)
    prompt_id: str = Field(min_length=1)
    prompt: list[Message] = Field(min_length=1)
    prompt_is_chat: bool = True
    response_a: str
    response_b: str
    human_labels: list[HumanVote] = Field(default_factory=list)
    adjudicated: Outcome | None = None
    adjudicator: str | None = None
    judge: JudgeVote | None = None
    certified: CertifiedVote | None = None

    @model_validator(mode="before")
    @classmethod
    def _plain_prompt(cls, data: object) -> object:
        if isinstance(data, dict) and isinstance(data.get("prompt"), str):
            data = {**data, "prompt": [{"role": "user", "content": data["prompt"]}], "prompt_is_chat": False}
        return data

    @model_validator(mode="after")
    def _check(self) -> Self:
        for number, message in enumerate(self.prompt):
            if set(message) != {"role", "content"}:
                raise ValueError(f"prompt[{number}]: a message has exactly the keys 'role' and 'content'")
        if not self.prompt_is_chat and (len(self.prompt) != 1 or self.prompt[0]["role"] != "user"):
            raise ValueError("prompt: a plain (prompt_is_chat=False) prompt is exactly one user message")
        seen = Counter((vote.annotator, vote.rubric) for vote in self.human_labels)
        twice = sorted(f"{name} ({rubric})" for (name, rubric), count in seen.items() if count > 1)
        if twice:
            raise ValueError(f"human_labels: more than one vote per annotator and rubric: {', '.join(twice)}")
        if self.adjudicator is not None and self.adjudicated is None:
            raise ValueError("adjudicator: given without an adjudicated outcome")
        return self


class Label(BaseModel):
    """The outcome a pair is exported with, and its provenance (one row's provenance columns)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    outcome: Outcome
    source: RowSource
    n_annotators: int
    agreement: float
    annotators: tuple[str, ...] = ()
    adjudicator: str | None = None
    judge_model: str | None = None
    rubric: str | None = None
    certified_by: str | None = None  # the label_source of a certified judge label


def rubric_name(rubrics: Sequence[str | None]) -> str | None:
    """The rubric column for votes under these rubrics: one name, a sorted comma list when mixed, or None.

    >>> rubric_name(["help@1", "help@1"]), rubric_name(["safe@2", None, "help@1"]), rubric_name([None])
    ('help@1', 'help@1,safe@2', None)
    """
    names = set(rubrics)
    names.discard(None)
    return ",".join(sorted(names)) if names else None  # type: ignore[arg-type]


def _human_label(pair: ExportPair, rubric: str | None) -> Label | None:
    votes = [vote for vote in pair.human_labels if rubric is None or vote.rubric == rubric]
    outcomes = [vote.outcome for vote in votes]
    annotators = tuple(vote.annotator for vote in votes)
    name = rubric if rubric is not None else rubric_name([vote.rubric for vote in votes])
    if pair.adjudicated is not None:
        agreeing = sum(outcome == pair.adjudicated for outcome in outcomes) + 1
        return Label.model_construct(
            outcome=pair.adjudicated,
            source="adjudicated",
            n_annotators=len(votes),
            agreement=agreeing / (len(votes) + 1),
            annotators=annotators,
            adjudicator=pair.adjudicator,
            rubric=name,
        )
    outcome = strict_majority(outcomes)
    if outcome is None:
        return None
    return Label.model_construct(
        outcome=outcome,
        source="humans",
        n_annotators=len(votes),
        agreement=outcomes.count(outcome) / len(outcomes),
        annotators=annotators,
        rubric=name,
    )


def _judge_label(pair: ExportPair, rubric: str | None) -> Label | None:
    judge = pair.judge
    if judge is None or judge.outcome is None or (rubric is not None and judge.rubric != rubric):
        return None
    return Label.model_construct(
        outcome=judge.outcome,
        source="judge",
        n_annotators=0,
        agreement=0.0 if judge.consistent is False else 1.0,
        judge_model=judge.model,
        rubric=judge.rubric,
    )


def resolve_label(pair: ExportPair, source: LabelSource = "humans", *, rubric: str | None = None) -> Label | None:
    """The label a pair is exported with under one labelling rule, or None when it has none.

    See the module docstring for the rules.

    Args:
        pair: the pair with its votes.
        source: ``"humans"`` (adjudication, else strict majority), ``"judge"`` or ``"consensus"``.
        rubric: keep only votes and judgements under this rubric (``name@version``).

    Returns:
        The :class:`Label`, or None for an unlabelled pair.

    >>> votes = [HumanVote(annotator=n, outcome=o) for n, o in [("ann", "a"), ("bo", "a"), ("cy", "b")]]
    >>> pair = ExportPair(pair_id="p1", prompt_id="q1", prompt="Hi", response_a="Hello", response_b="Go",
    ...                   human_labels=votes, judge=JudgeVote(model="m", outcome="a", consistent=True))
    >>> label = resolve_label(pair)
    >>> label.outcome, label.source, label.n_annotators, round(label.agreement, 3), label.annotators
    ('a', 'humans', 3, 0.667, ('ann', 'bo', 'cy'))
    >>> resolve_label(pair, "judge").source, resolve_label(pair, "consensus").judge_model
    ('judge', 'm')
    """
    if source == "humans":
        return _human_label(pair, rubric)
    if source == "judge":
        return _judge_label(pair, rubric)
    if source == "certified":
        human = _human_label(pair, rubric)
        decision = pair.certified
        if human is not None or decision is None or decision.status != "accepted" or decision.outcome is None:
            return human
        return Label.model_construct(
            outcome=decision.outcome,
            source="certified",
            n_annotators=0,
            agreement=1.0,
            annotators=(),
            adjudicator=None,
            judge_model=decision.judge,
            rubric=None,
            certified_by=decision.label_source,
        )
    if source == "consensus":
        human, judge = _human_label(pair, rubric), _judge_label(pair, rubric)
        if human is None or judge is None or human.outcome != judge.outcome:
            return None
        return human.model_copy(
            update={
                "source": "consensus",
                "judge_model": judge.judge_model,
                "rubric": rubric_name([human.rubric, judge.rubric]) if rubric is None else rubric,
            }
        )
    raise ValueError(f"source: {source!r} is not one of 'humans', 'judge', 'consensus', 'certified'")
