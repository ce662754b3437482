"""SFT rows filtered by pointwise score: responses scored at least S, by people where they scored, else the judge.

Each kept response is one TRL language-modeling row (``messages``: the prompt plus the response as the
assistant turn, always conversational), with provenance: ``response_id``, ``prompt_id``, ``rubric``,
``criterion`` (None: the overall level), ``score`` (the mean of the people's levels, or the judge's
level), ``score_source`` (``humans`` or ``judge``: who the score is from) and ``scorers``. Which scores
count is :mod:`server.score_labels`; this module only filters and writes. Files, checksums, splits by
prompt and the atomic rename are those of :mod:`server.export.trl`.

>>> hi = [{"role": "user", "content": "Hi"}]
>>> item = ScoredResponse("r1", "q1", hi, "Hello!", 4.0, "judge", ("j",), "sft-quality@1.0.0")
>>> kept, dropped = select_scored([item, ScoredResponse("r2", "q1", [], "Go.", None, None, (), None)], min_score=4)
>>> [k.response_id for k in kept], dropped.model_dump()
(['r1'], {'no_score': 1, 'below_min_score': 0})
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from server.export.files import MANIFEST, file_checksums, replaced_atomically, write_jsonl
from server.export.manifest import SplitSpec, rubricate_version
from server.export.trl import DATASET_DIR, split_by_prompt

COLUMNS = ("messages", "response_id", "prompt_id", "rubric", "criterion", "score", "score_source", "scorers")


@dataclass(frozen=True)
class ScoredResponse:
    """A response with the score it counts with (None: nobody scored it)."""

    response_id: str
    prompt_id: str
    prompt: list[dict[str, str]]
    text: str
    score: float | None
    source: Literal["humans", "judge"] | None
    scorers: tuple[str, ...]
    rubric: str | None


class ScoreFilters(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rubric: str | None
    criterion: str | None
    min_score: float
    judge: str | None


class ScoreDropped(BaseModel):
    """Responses left out: nobody scored them (under the counted rubric), or their score is below S."""

    model_config = ConfigDict(extra="forbid")
    no_score: int = 0
    below_min_score: int = 0


class ScoredManifest(BaseModel):
    """What a score-filtered SFT export holds and how it was made (``manifest.json``)."""

    model_config = ConfigDict(extra="forbid")
    format: Literal["sft"] = "sft"
    source: Literal["scores"] = "scores"
    filters: ScoreFilters
    split: SplitSpec
    responses_in: int
    responses_exported: int
    by_source: dict[str, int]
    rows: dict[str, int]
    prompts: dict[str, int]
    dropped: ScoreDropped
    columns: list[str]
    files: dict[str, str]
    rubricate_version: str
    created_at: datetime


def select_scored(items: Sequence[ScoredResponse], *, min_score: float) -> tuple[list[ScoredResponse], ScoreDropped]:
    """The responses scored at least `min_score`, in input order, and what was dropped."""
    kept, dropped = [], ScoreDropped()
    for item in items:
        if item.score is None:
            dropped.no_score += 1
        elif item.score < min_score:
            dropped.below_min_score += 1
        else:
            kept.append(item)
    return kept, dropped


def scored_row(item: ScoredResponse, criterion: str | None) -> dict[str, Any]:
    """One SFT row of a kept response, with its score's provenance."""
    return {
        "messages": [*item.prompt, {"role": "assistant", "content": item.text}],
        "response_id": item.response_id,
        "prompt_id": item.prompt_id,
        "rubric": item.rubric,
        "criterion": criterion,
        "score": item.score,
        "score_source": item.source,
        "scorers": list(item.scorers),
    }


def _features() -> Any:
    from datasets import Features, List, Value

    text = Value("string")
    types = {"messages": List({"role": text, "content": text}), "score": Value("float64"), "scorers": List(text)}
    return Features({name: types.get(name, text) for name in COLUMNS})


def _write(tmp: Path, by_split: dict[str, list[dict[str, Any]]]) -> None:
    """Each split as Parquet and JSONL, and all of them as one ``DatasetDict``."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from datasets import Dataset, DatasetDict, DatasetInfo

    features = _features()
    splits = {}
    for split, rows in by_split.items():
        columns = {name: [row[name] for row in rows] for name in COLUMNS}
        table = pa.Table.from_pydict(columns, schema=features.arrow_schema)
        splits[split] = Dataset(table, info=DatasetInfo(features=features), split=split)
        pq.write_table(splits[split].data.table, tmp / f"{split}.parquet")
        write_jsonl(tmp / f"{split}.jsonl", rows)
    empty = {split: 1 for split, dataset in splits.items() if len(dataset) == 0}
    DatasetDict(splits).save_to_disk(str(tmp / DATASET_DIR), num_shards=empty)


def export_scored_sft(
    items: Sequence[ScoredResponse],
    *,
    out: Path,
    filters: ScoreFilters,
    test_size: float = 0.0,
    seed: int = 0,
    overwrite: bool = False,
) -> ScoredManifest:
    """Write the responses scored at least ``filters.min_score`` as a TRL SFT dataset under ``out``."""
    if (out := Path(out)).exists() and not overwrite:
        raise FileExistsError(f"out: {out} already exists; choose a new folder or pass overwrite=True")
    kept, dropped = select_scored(items, min_score=filters.min_score)
    assignment = split_by_prompt([k.prompt_id for k in kept], test_size, seed)
    names = ["train", "test"] if test_size > 0 else ["train"]
    by_split = {s: [scored_row(k, filters.criterion) for k in kept if assignment[k.prompt_id] == s] for s in names}
    with replaced_atomically(out) as tmp:
        _write(tmp, by_split)
        manifest = ScoredManifest(
            filters=filters,
            split=SplitSpec(test_size=test_size, seed=seed),
            responses_in=len(items),
            responses_exported=len(kept),
            by_source={s: sum(k.source == s for k in kept) for s in ("humans", "judge")},
            rows={s: len(rows) for s, rows in by_split.items()},
            prompts={s: len({r["prompt_id"] for r in rows}) for s, rows in by_split.items()},
            dropped=dropped,
            columns=list(COLUMNS),
            files=file_checksums(tmp),
            rubricate_version=rubricate_version(),
            created_at=datetime.now(UTC),
        )
        (tmp / MANIFEST).write_text(manifest.model_dump_json(indent=2) + "\n", encoding="utf-8")
    return manifest
