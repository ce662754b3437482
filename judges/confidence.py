"""How sure a judge was of its choice, from the token log-probabilities of its answer.

A verdict's JSON puts the overall winner early (`..."overall":"b",...`); the token that starts that
value was chosen among alternatives whose log-probabilities the server reports. Summing the
alternatives' probabilities by the outcome they start (`a`, `b`, `t` for tie) gives the judge's
probability of each outcome at the moment it chose, normalised over the three.

Which probabilities these are depends on the server. vLLM reports `raw_logprobs` by default: the
log-softmax of the logits *after* the guided-decoding grammar mask and *before* temperature and
penalties, so only outcomes the schema allows carry mass (masked tokens come back at -9999) and the
three sum to ~1 before normalising (:data:`VLLM_LOGPROBS`). A provider without guided decoding reports the model's full
distribution; normalising over the three outcomes then conditions on a valid answer.

>>> from judges.backend import TokenLogprob
>>> raw = '{"overall":"b","confidence":4}'
>>> tokens = [TokenLogprob(token=t, logprob=0.0) for t in ['{"', 'overall', '":"']]
>>> tokens += [TokenLogprob(token="b", logprob=-0.2, top={"b": -0.2, "a": -1.8, "tie": -4.0})]
>>> tokens += [TokenLogprob(token=t, logprob=0.0) for t in ['","', 'confidence', '":', '4', '}']]
>>> {k: round(v, 3) for k, v in outcome_probabilities(raw, tokens).items()}
{'a': 0.165, 'b': 0.817, 'tie': 0.018}
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from judges.backend import TokenLogprob
from rubrics.outcomes import Outcome

VLLM_LOGPROBS = "vllm raw_logprobs: after the guided-decoding grammar mask, before temperature and penalties"
"""What the probabilities recorded from our vLLM server are (see the module doc)."""
_STARTS: dict[str, Outcome] = {"a": "a", "b": "b", "t": "tie"}


def outcome_probabilities(
    raw: str, logprobs: Sequence[TokenLogprob], field: str = "overall"
) -> dict[Outcome, float] | None:
    """The probability of each outcome for `field` in the order the judge saw, or None when unknowable.

    None when the answer has no such field, no log-probabilities were reported, the tokens do not
    spell `raw` up to the value (a server's streamed text and its token strings can part later, in
    the free-text rationale), or no alternative at that position starts an outcome.
    """
    found = re.search(rf'"{re.escape(field)}"\s*:\s*"', raw)
    if found is None or not logprobs:
        return None
    value_at, offset = found.end(), 0
    if "".join(t.token for t in logprobs)[:value_at] != raw[:value_at]:
        return None
    for token in logprobs:
        if offset + len(token.token) > value_at:
            return _by_outcome(token, value_at - offset)
        offset += len(token.token)
    return None


def _by_outcome(token: TokenLogprob, prefix: int) -> dict[Outcome, float] | None:
    """Sum the alternatives at `token`'s position by the outcome whose first letter follows `prefix` chars."""
    head = token.token[:prefix]
    alternatives = token.top or {token.token: token.logprob}
    mass: dict[Outcome, float] = {"a": 0.0, "b": 0.0, "tie": 0.0}
    for text, logprob in alternatives.items():
        if text[:prefix] == head and len(text) > prefix and (outcome := _STARTS.get(text[prefix])) is not None:
            mass[outcome] += math.exp(logprob)
    total = sum(mass.values())
    if total <= 0:
        return None
    return {outcome: value / total for outcome, value in mass.items()}
