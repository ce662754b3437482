"""TRL's dataset formats as small row functions, one per format, registered with their columns and Features.

A row is a plain dict in TRL's column conventions plus provenance (as TRL's ``data_utils`` works on
rows); an export builds each split's rows with the format's row function and turns them into Arrow
columns once (:func:`build_columns`). :data:`ROW_FORMATS` is the registry:

============  ===========================  ===========================================================
format        row function                 one labelled pair gives
============  ===========================  ===========================================================
``dpo``       :func:`preference_rows`      one row: ``prompt``, ``chosen``, ``rejected``
``reward``    :func:`preference_rows`      the same (TRL's RewardTrainer reads preference rows)
``kto``       :func:`unpaired_rows`        two rows: ``prompt``, ``completion``, ``label`` (True/False)
``sft``       :func:`sft_rows`             ``messages`` with the preferred response (a tie: both)
============  ===========================  ===========================================================

>>> from server.export.labels import ExportPair, Label
>>> pair = ExportPair(pair_id="p1", prompt_id="q1", prompt="Hi", response_a="Hello", response_b="Go away")
>>> label = Label(outcome="a", source="humans", n_annotators=2, agreement=1.0, annotators=("x", "y"))
>>> ROW_FORMATS["dpo"].rows(pair, label, conversational=False)[0]["chosen"]
'Hello'
"""

from __future__ import annotations

import gc
import random
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from server.export.labels import ExportPair, Label, Message

ExportFormat = Literal["dpo", "reward", "kto", "sft"]
FORMATS: tuple[ExportFormat, ...] = ("dpo", "reward", "kto", "sft")
PROVENANCE: tuple[str, ...] = (
    "pair_id",
    "prompt_id",
    "rubric",
    "label_source",
    "outcome",
    "n_annotators",
    "agreement",
    "annotators",
    "adjudicator",
    "judge_model",
)
Row = dict[str, Any]


class RowFunction(Protocol):
    def __call__(self, pair: ExportPair, label: Label, *, conversational: bool) -> list[Row]: ...


def provenance(pair: ExportPair, label: Label) -> Row:
    """Who and what stands behind a row: the provenance columns, in order.

    >>> from server.export.labels import Label
    >>> pair = ExportPair(pair_id="p1", prompt_id="q1", prompt="Hi", response_a="A", response_b="B")
    >>> provenance(pair, Label(outcome="b", source="judge", n_annotators=0, agreement=1.0, judge_model="j"))
    ... # doctest: +NORMALIZE_WHITESPACE
    {'pair_id': 'p1', 'prompt_id': 'q1', 'rubric': None, 'label_source': 'judge', 'outcome': 'b',
     'n_annotators': 0, 'agreement': 1.0, 'annotators': [], 'adjudicator': None, 'judge_model': 'j'}
    """
    return {
        "pair_id": pair.pair_id,
        "prompt_id": pair.prompt_id,
        "rubric": label.rubric,
        "label_source": label.certified_by or label.source,
        "outcome": label.outcome,
        "n_annotators": label.n_annotators,
        "agreement": label.agreement,
        "annotators": list(label.annotators),
        "adjudicator": label.adjudicator,
        "judge_model": label.judge_model,
    }


def _decided(pair: ExportPair, label: Label, format: str) -> tuple[str, str]:
    """(chosen, rejected) texts; a tie has neither."""
    if label.outcome == "tie":
        raise ValueError(f"pair {pair.pair_id}: a tie has no chosen response and cannot be a {format} row")
    return (pair.response_a, pair.response_b) if label.outcome == "a" else (pair.response_b, pair.response_a)


def _prompt(pair: ExportPair, conversational: bool) -> list[Message] | str:
    return pair.prompt if conversational else pair.prompt[0]["content"]


def _turn(text: str, conversational: bool) -> list[Message] | str:
    return [{"role": "assistant", "content": text}] if conversational else text


def preference_rows(pair: ExportPair, label: Label, *, conversational: bool) -> list[Row]:
    """TRL preference (``dpo``, ``reward``): one row with ``prompt``, ``chosen``, ``rejected``.

    >>> pair = ExportPair(pair_id="p1", prompt_id="q1", prompt="The sky is", response_a=" blue.", response_b=" green.")
    >>> label = Label(outcome="a", source="humans", n_annotators=3, agreement=1.0, annotators=("x", "y", "z"))
    >>> row = preference_rows(pair, label, conversational=False)[0]
    >>> row["prompt"], row["chosen"], row["rejected"], row["pair_id"], row["annotators"]
    ('The sky is', ' blue.', ' green.', 'p1', ['x', 'y', 'z'])
    >>> preference_rows(pair, label, conversational=True)[0]["chosen"]
    [{'role': 'assistant', 'content': ' blue.'}]
    """
    good, bad = _decided(pair, label, "dpo/reward")
    return [
        {
            "prompt": _prompt(pair, conversational),
            "chosen": _turn(good, conversational),
            "rejected": _turn(bad, conversational),
            **provenance(pair, label),
        }
    ]


def unpaired_rows(pair: ExportPair, label: Label, *, conversational: bool) -> list[Row]:
    """TRL unpaired preference (``kto``): the chosen response labelled True, the rejected one False.

    >>> pair = ExportPair(pair_id="p1", prompt_id="q1", prompt="The sky is", response_a=" blue.", response_b=" green.")
    >>> label = Label(outcome="a", source="humans", n_annotators=1, agreement=1.0, annotators=("x",))
    >>> [(r["completion"], r["label"], r["response"]) for r in unpaired_rows(pair, label, conversational=False)]
    [(' blue.', True, 'a'), (' green.', False, 'b')]
    """
    good, bad = _decided(pair, label, "kto")
    prompt, origin = _prompt(pair, conversational), provenance(pair, label)
    other = "b" if label.outcome == "a" else "a"
    return [
        {"prompt": prompt, "completion": _turn(text, conversational), "label": desirable, **origin, "response": which}
        for text, desirable, which in ((good, True, label.outcome), (bad, False, other))
    ]


def sft_rows(pair: ExportPair, label: Label, *, conversational: bool = True) -> list[Row]:
    """TRL language modeling (``sft``): the prompt plus the preferred response; a tie gives both.

    Always conversational (``messages``), whatever ``conversational`` says.

    >>> pair = ExportPair(pair_id="p1", prompt_id="q1", prompt="The sky is", response_a=" blue.", response_b=" green.")
    >>> tie = Label(outcome="tie", source="humans", n_annotators=2, agreement=1.0, annotators=("x", "y"))
    >>> [(r["messages"][-1]["content"], r["response"]) for r in sft_rows(pair, tie)]
    [(' blue.', 'a'), (' green.', 'b')]
    """
    picks = ("a", "b") if label.outcome == "tie" else (label.outcome,)
    origin = provenance(pair, label)
    return [
        {
            "messages": [
                *pair.prompt,
                {"role": "assistant", "content": pair.response_a if pick == "a" else pair.response_b},
            ],
            **origin,
            "response": pick,
        }
        for pick in picks
    ]


@dataclass(frozen=True)
class RowFormat:
    """A TRL format: its row function and its TRL columns (provenance and ``extra`` follow them)."""

    name: ExportFormat
    rows: RowFunction
    trl_columns: tuple[str, ...]
    extra: tuple[str, ...] = ()

    @property
    def columns(self) -> list[str]:
        return [*self.trl_columns, *PROVENANCE, *self.extra]

    def features(self, conversational: bool) -> Any:
        """The `datasets.Features` of the format, fixed up front so every split has the same Arrow schema."""
        from datasets import Features, List, Value

        text = Value("string")
        messages = List({"role": Value("string"), "content": Value("string")})
        turn = messages if conversational or self.name == "sft" else text
        types: dict[str, Any] = dict.fromkeys(("prompt", "chosen", "rejected", "completion"), turn)
        types |= {"label": Value("bool"), "messages": messages, "n_annotators": Value("int32")}
        types |= {"agreement": Value("float64"), "annotators": List(text)}
        return Features({name: types.get(name, text) for name in self.columns})


ROW_FORMATS: dict[ExportFormat, RowFormat] = {
    "dpo": RowFormat("dpo", preference_rows, ("prompt", "chosen", "rejected")),
    "reward": RowFormat("reward", preference_rows, ("prompt", "chosen", "rejected")),
    "kto": RowFormat("kto", unpaired_rows, ("prompt", "completion", "label"), ("response",)),
    "sft": RowFormat("sft", sft_rows, ("messages",), ("response",)),
}


def columns_for(format: ExportFormat) -> list[str]:
    """The column names of a format, in order: TRL's columns, then provenance.

    >>> columns_for("dpo")[:3], columns_for("kto")[:3], columns_for("sft")[:2]
    (['prompt', 'chosen', 'rejected'], ['prompt', 'completion', 'label'], ['messages', 'pair_id'])
    """
    return ROW_FORMATS[format].columns


def features_for(format: ExportFormat, conversational: bool) -> Any:
    """The `datasets.Features` of a format (see :meth:`RowFormat.features`).

    >>> features_for("dpo", conversational=False)["chosen"]
    Value('string')
    """
    return ROW_FORMATS[format].features(conversational)


def build_rows(pair: ExportPair, label: Label, format: ExportFormat, *, conversational: bool) -> list[Row]:
    """The rows one labelled pair gives in a format (its registered row function).

    >>> pair = ExportPair(pair_id="p1", prompt_id="q1", prompt="Hi", response_a="A", response_b="B")
    >>> label = Label(outcome="b", source="humans", n_annotators=1, agreement=1.0, annotators=("x",))
    >>> build_rows(pair, label, "sft", conversational=False)[0]["messages"][-1]
    {'role': 'assistant', 'content': 'B'}
    """
    return ROW_FORMATS[format].rows(pair, label, conversational=conversational)


def rows_of(items: Sequence[tuple[ExportPair, Label]], format: ExportFormat, *, conversational: bool) -> list[Row]:
    """Every row of labelled pairs in one format, in order (ties must already be filtered as wanted)."""
    make: Callable[..., list[Row]] = ROW_FORMATS[format].rows
    with no_cycle_collection():
        return [row for pair, label in items for row in make(pair, label, conversational=conversational)]


@contextmanager
def no_cycle_collection() -> Iterator[None]:
    """Pause the cycle collector while building many small objects that all stay alive (rows, labels):
    they hold no cycles, and each collection pass over them is only time lost (about 3x on 100,000 rows).

    >>> with no_cycle_collection():
    ...     gc.isenabled()
    False
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def to_columns(rows: Sequence[Row], names: Sequence[str]) -> dict[str, list[Any]]:
    """Rows → columns (name → values), the shape Arrow takes.

    >>> to_columns([{"x": 1, "y": "a"}, {"x": 2, "y": "b"}], ["x", "y"])
    {'x': [1, 2], 'y': ['a', 'b']}
    """
    return {name: [row[name] for row in rows] for name in names}


def build_columns(
    items: Sequence[tuple[ExportPair, Label]], format: ExportFormat, *, conversational: bool
) -> dict[str, list[Any]]:
    """Columns for labelled pairs in one format: the rows of :func:`rows_of`, turned into columns once."""
    return to_columns(rows_of(items, format, conversational=conversational), columns_for(format))


def shuffle_rows(rows: Sequence[Row], seed: int) -> list[Row]:
    """The same rows in a seeded random order.

    Used for ``kto``: TRL's KTOTrainer reads rows in file order (sequential sampling) and estimates its
    KL term from a neighbouring row's completion, so a pair's two rows must not sit side by side and
    desirable and undesirable rows should mix within a batch.

    >>> shuffle_rows([{"x": 1}, {"x": 2}, {"x": 3}, {"x": 4}], seed=0)
    [{'x': 3}, {'x': 1}, {'x': 2}, {'x': 4}]
    """
    order = list(range(len(rows)))
    random.Random(seed).shuffle(order)
    return [rows[i] for i in order]
