"""What a judge must answer (response models, built per rubric) and what we record (result records).

Response models are built with `pydantic.create_model` from a rubric, so guided decoding on the
server enforces exactly that rubric's criteria. Field order matters with small models: the enum
fields (a winner per criterion, the overall winner, a 1..5 confidence) come first and the free-text
rationale last, bounded to :data:`RATIONALE_MAX_CHARS`, so a model cannot ramble its way to
`max_tokens` before it has answered.

Result records are plain pydantic models the server stores as they are. A pairwise verdict's
outcomes are always in the CANONICAL (a, b) order of the stored pair, mapped back exactly once with
:func:`rubrics.outcomes.to_canonical`; `presented_outcome` keeps what the judge literally said about
the order it was shown. A failed verdict is a record with `outcome=None` and `error` set, never a
magic value.

>>> from types import SimpleNamespace as NS
>>> rubric = NS(name="r", version=1, ref="r@1", criteria=[NS(id="helpful", title="Helpful", description="")])
>>> Model = pairwise_verdict_model(rubric)
>>> list(Model.model_json_schema()["properties"])
['helpful', 'overall', 'confidence', 'rationale']
>>> Model.model_validate({"helpful": "b", "overall": "b", "confidence": 4, "rationale": "B answers."}).overall
'b'
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from judges.backend import ErrorKind, SamplingParams, Usage
from rubrics.outcomes import Order, Outcome

RATIONALE_MAX_CHARS = 300
"""Upper bound on a judge's rationale; keeps small models from running to max_tokens."""
RESERVED_FIELDS = frozenset({"overall", "confidence", "rationale"})


def _criteria(rubric: Any, criteria_ids: Sequence[str] | None) -> list[Any]:
    """The rubric's criteria in rubric order, restricted to `criteria_ids` when given."""
    criteria = list(rubric.criteria)
    if criteria_ids is None:
        return criteria
    known = {c.id for c in criteria}
    unknown = [cid for cid in criteria_ids if cid not in known]
    if unknown:
        raise ValueError(f"criteria_ids {unknown} are not criteria of rubric {rubric.ref}; known: {sorted(known)}")
    wanted = set(criteria_ids)
    return [c for c in criteria if c.id in wanted]


def _check_ids(rubric: Any, criteria: list[Any]) -> None:
    for criterion in criteria:
        if criterion.id in RESERVED_FIELDS:
            raise ValueError(f"rubric {rubric.ref}: criterion id {criterion.id!r} clashes with a verdict field")


def _model_name(prefix: str, rubric: Any) -> str:
    return prefix + "_" + re.sub(r"\W+", "_", f"{rubric.name}_v{rubric.version}")


def _field_name(index: int) -> str:
    # Criterion ids go in as aliases (what the model sees and returns); python names stay valid.
    return f"criterion_{index}"


def pairwise_verdict_model(rubric: Any, criteria_ids: Sequence[str] | None = None) -> type[BaseModel]:
    """The response model for a pairwise judge under `rubric`.

    One `Literal["a", "b", "tie"]` field per criterion id (rubric order), then `overall`, then
    `confidence` (1..5), then `rationale` (at most :data:`RATIONALE_MAX_CHARS` characters); extra
    fields are forbidden. `a` and `b` are the responses in the order the judge was SHOWN them.

    Args:
        rubric: a `rubrics.schema.Rubric` (anything with `.name`, `.version`, `.ref`, `.criteria`).
        criteria_ids: judge only these criteria (default: all).
    """
    criteria = _criteria(rubric, criteria_ids)
    _check_ids(rubric, criteria)
    fields: dict[str, Any] = {
        _field_name(i): (
            Literal["a", "b", "tie"],
            Field(alias=c.id, description=f"Which response is better on {c.title}: a, b or tie."),
        )
        for i, c in enumerate(criteria)
    }
    fields["overall"] = (Literal["a", "b", "tie"], Field(description="Which response is better overall."))
    fields["confidence"] = (int, Field(ge=1, le=5, description="1 = a guess, 5 = certain."))
    fields["rationale"] = (
        str,
        Field(max_length=RATIONALE_MAX_CHARS, description="One or two sentences on why."),
    )
    return create_model(  # type: ignore[call-overload, no-any-return]
        _model_name("PairwiseVerdict", rubric),
        __config__=ConfigDict(extra="forbid", populate_by_name=True),
        **fields,
    )


def criterion_levels(criterion: Any) -> int:
    """How many levels a criterion's point scale has (scores run 1..N); ValueError when it has none."""
    points = criterion.scale.points
    if points is None:
        raise ValueError(f"criterion {criterion.id!r} has no point scale (scale.levels) to score on")
    return int(points)


def pointwise_verdict_model(rubric: Any, criteria_ids: Sequence[str] | None = None) -> type[BaseModel]:
    """The response model for a pointwise judge: one int per criterion bounded to 1..N, then overall, rationale.

    `overall` runs over the widest criterion scale of the rubric.
    """
    criteria = _criteria(rubric, criteria_ids)
    _check_ids(rubric, criteria)
    fields: dict[str, Any] = {}
    widest = 1
    for i, c in enumerate(criteria):
        levels = criterion_levels(c)
        widest = max(widest, levels)
        fields[_field_name(i)] = (int, Field(alias=c.id, ge=1, le=levels, description=f"{c.title}: 1..{levels}."))
    fields["overall"] = (int, Field(ge=1, le=widest, description=f"Overall: 1..{widest}."))
    fields["rationale"] = (str, Field(max_length=RATIONALE_MAX_CHARS, description="One or two sentences on why."))
    return create_model(  # type: ignore[call-overload, no-any-return]
        _model_name("PointwiseScore", rubric),
        __config__=ConfigDict(extra="forbid", populate_by_name=True),
        **fields,
    )


def criteria_answers(answer: BaseModel) -> dict[str, Any]:
    """The per-criterion answers of a response model instance, keyed by criterion id.

    >>> from types import SimpleNamespace as NS
    >>> rubric = NS(name="r", version=1, ref="r@1", criteria=[NS(id="safe", title="Safe", description="")])
    >>> answer = pairwise_verdict_model(rubric).model_validate(
    ...     {"safe": "tie", "overall": "a", "confidence": 3, "rationale": ""})
    >>> criteria_answers(answer)
    {'safe': 'tie'}
    """
    dumped = answer.model_dump(by_alias=True)
    return {key: value for key, value in dumped.items() if key not in RESERVED_FIELDS}


# ---------------------------------------------------------------- result records


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Provenance(_Record):
    """Who judged, under which rubric version and sampling parameters, and what it cost."""

    judge_model: str
    rubric_ref: str
    params: SamplingParams
    usage: Usage = Usage()
    latency_s: float = 0.0
    cached: bool = False
    raw: str | None = Field(default=None, description="The judge's raw output (the JSON it produced).")


class PairwiseVerdict(Provenance):
    """One judge's answer for one pair in one presentation order, mapped to the canonical order.

    `outcome` and `criteria` are about the stored (a, b) order; `presented_outcome` is what the judge
    said about the order it saw (`ba` means it saw b first). Failed: `outcome is None`, `error` set.
    """

    order: Order
    outcome: Outcome | None
    presented_outcome: Outcome | None = None
    criteria: dict[str, Outcome] = Field(default_factory=dict)
    probabilities: dict[Outcome, float] | None = None
    """The judge's probability of each overall outcome (canonical order) from token logprobs, when reported."""
    confidence: int | None = None
    rationale: str | None = None
    error: str | None = None
    error_kind: ErrorKind | None = None

    @property
    def failed(self) -> bool:
        """True for a recorded failure (no outcome)."""
        return self.error is not None


class CombinedOutcome(_Record):
    """Two orders combined (see :func:`rubrics.outcomes.combine_orders`): None/None when both failed."""

    outcome: Outcome | None
    consistent: bool | None


class PairwiseJudgement(_Record):
    """One judge model's judgement of a pair: its verdicts (one per order) and their combination.

    `consistent` is True when both orders agreed, False when they disagreed (position bias: the
    outcome is then `tie`), None when only one order produced a verdict.
    """

    judge_model: str
    rubric_ref: str
    verdicts: list[PairwiseVerdict]
    outcome: Outcome | None
    consistent: bool | None
    criteria: dict[str, CombinedOutcome] = Field(default_factory=dict)

    def verdict(self, order: Order) -> PairwiseVerdict | None:
        """The verdict given in `order`, if that order was judged."""
        return next((v for v in self.verdicts if v.order == order), None)


class PointwiseScore(Provenance):
    """One judge's scores for one response: per criterion (1..N), overall, rationale; or an error."""

    overall: int | None
    criteria: dict[str, int] = Field(default_factory=dict)
    rationale: str | None = None
    error: str | None = None
    error_kind: ErrorKind | None = None

    @property
    def failed(self) -> bool:
        """True for a recorded failure (no score)."""
        return self.error is not None
