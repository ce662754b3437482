"""TRL-ready datasets from labelled pairs: rows in TRL's column conventions, grouped splits, files, manifest.

Each pair gets a label from :func:`server.export.labels.resolve_label`; the rows, one small row function
per format registered in :mod:`server.export.formats`, follow TRL's "Dataset formats and types" guide:

============  ===========================  ==============================================================
format        TRL type                     columns (conversational form; standard form uses strings)
============  ===========================  ==============================================================
``dpo``       preference                   ``prompt`` (messages), ``chosen`` / ``rejected`` (one assistant
``reward``    preference                   message each) — one row per pair
``kto``       unpaired preference          ``prompt``, ``completion`` (one assistant message), ``label``
                                           (bool) — two rows per pair: chosen → True, rejected → False,
                                           in a seeded shuffled order (see :func:`~server.export.formats.shuffle_rows`)
``sft``       language modeling            ``messages``: the prompt plus the preferred response as the
                                           assistant turn — always conversational
============  ===========================  ==============================================================

Every row also carries provenance columns: ``pair_id``, ``prompt_id``, ``rubric``, ``label_source``,
``outcome`` (the label: a / b / tie), ``n_annotators``, ``agreement``, ``annotators``, ``adjudicator``,
``judge_model``; ``kto`` and ``sft`` rows add ``response`` (which of the pair's responses the row holds).
TRL trainers drop columns they do not use.

Decisions worth knowing:

- **Conversational or standard.** One Arrow column holds one type, so a dataset is either all
  conversational or all standard. It is conversational when any exported pair's prompt is a message
  list (``prompt_is_chat``); plain prompts are then written as one user message. It is standard (plain
  strings) only when every exported prompt was a plain string. ``sft`` is always conversational.
- **Ties.** A tie has no chosen and no rejected response, so ties are dropped from ``dpo``, ``reward``
  and ``kto`` always and counted in the manifest. In ``sft`` a tie means both responses are equally
  acceptable and gives two rows, one per response; ``drop_ties=True`` drops them instead.
- **Filters, in order**: a pair without a label is dropped (``no_label``), then one whose agreement is
  below ``min_agreement`` (``below_agreement``), then ties as above (``tie``). The manifest counts pairs.
- **Splits** are grouped by ``prompt_id``: every pair of a prompt lands in the same split, so no prompt
  is in both. ``test_size`` is the fraction of exported *prompts* put in ``test`` (at least one, and at
  least one left for ``train``, when there are two or more prompts). The draw is seeded and independent
  of input order; rows keep the input order within a split (``kto`` rows excepted: shuffled, seeded).

Files under ``out``: ``dataset/`` (``DatasetDict.save_to_disk``), ``<split>.parquet`` and
``<split>.jsonl`` per split, and ``manifest.json`` (:class:`~server.export.manifest.ExportManifest`, with the
sha256 of every other file). The export is written into a temporary sibling folder and renamed into place,
so a failed export never leaves half a dataset, and an existing ``out`` is only replaced with
``overwrite=True``.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

from server.export.files import json_line, replaced_atomically, sha256_file, write_jsonl
from server.export.formats import (
    FORMATS,
    ExportFormat,
    build_columns,
    build_rows,
    columns_for,
    features_for,
    no_cycle_collection,
    rows_of,
    shuffle_rows,
    to_columns,
)
from server.export.labels import ExportPair, Label, LabelSource, resolve_label
from server.export.manifest import (
    MANIFEST,
    CertifiedCounts,
    Dropped,
    ExportManifest,
    Filters,
    SplitSpec,
    load_manifest,
    seal,
    verify,
)

SplitName = Literal["train", "test"]
SOURCES: tuple[LabelSource, ...] = ("humans", "judge", "consensus", "certified")
DATASET_DIR = "dataset"


# ---------------------------------------------------------------- splits


def split_by_prompt(prompt_ids: Iterable[str], test_size: float, seed: int) -> dict[str, SplitName]:
    """Assign every prompt to ``train`` or ``test``, seeded, independent of the order prompts come in.

    ``test_size`` is the fraction of prompts in ``test``; with two or more prompts each split gets at
    least one when ``0 < test_size < 1``.

    >>> split = split_by_prompt(["q1", "q2", "q3", "q4"], 0.5, seed=0)
    >>> sorted(split.values())
    ['test', 'test', 'train', 'train']
    >>> split == split_by_prompt(["q4", "q3", "q2", "q1", "q1"], 0.5, seed=0)
    True
    >>> set(split_by_prompt(["q1", "q2"], 0.0, seed=0).values())
    {'train'}
    """
    if not 0.0 <= test_size < 1.0:
        raise ValueError(f"test_size: {test_size} must be at least 0 and below 1")
    groups = sorted(set(prompt_ids))
    n_test = 0
    if test_size > 0 and len(groups) >= 2:
        n_test = min(max(round(test_size * len(groups)), 1), len(groups) - 1)
    test = set(random.Random(seed).sample(groups, n_test))
    return {group: "test" if group in test else "train" for group in groups}


# ---------------------------------------------------------------- export


def select_pairs(
    pairs: Iterable[ExportPair],
    *,
    format: ExportFormat,
    source: LabelSource = "humans",
    rubric: str | None = None,
    min_agreement: float | None = None,
    drop_ties: bool = False,
) -> tuple[list[tuple[ExportPair, Label]], Dropped, int]:
    """Label every pair and apply the filters: (kept (pair, label) in input order, dropped counts, pairs seen).

    >>> from server.export.labels import HumanVote
    >>> votes = [HumanVote(annotator=n, outcome="tie") for n in "xyz"]
    >>> tie = ExportPair(pair_id="p", prompt_id="q", prompt="Hi", response_a="A", response_b="B", human_labels=votes)
    >>> kept, dropped, seen = select_pairs([tie], format="dpo")
    >>> kept, dropped.tie, len(select_pairs([tie], format="sft")[0])
    ([], 1, 1)
    """
    if format not in FORMATS:
        raise ValueError(f"format: {format!r} is not one of {', '.join(FORMATS)}")
    if source not in SOURCES:
        raise ValueError(f"source: {source!r} is not one of {', '.join(SOURCES)}")
    if min_agreement is not None and not 0.0 <= min_agreement <= 1.0:
        raise ValueError(f"min_agreement: {min_agreement} must be between 0 and 1")
    keep_ties = format == "sft" and not drop_ties
    kept: list[tuple[ExportPair, Label]] = []
    dropped = Dropped()
    seen = 0
    with no_cycle_collection():
        for pair in pairs:
            seen += 1
            label = resolve_label(pair, source, rubric=rubric)
            if label is None:
                dropped.no_label += 1
            elif min_agreement is not None and label.agreement < min_agreement:
                dropped.below_agreement += 1
            elif label.outcome == "tie" and not keep_ties:
                dropped.tie += 1
            else:
                kept.append((pair, label))
    return kept, dropped, seen


def export_dataset(
    pairs: Iterable[ExportPair],
    *,
    format: ExportFormat,
    out: Path,
    source: LabelSource = "humans",
    rubric: str | None = None,
    min_agreement: float | None = None,
    drop_ties: bool = False,
    test_size: float = 0.0,
    seed: int = 0,
    overwrite: bool = False,
    certified: CertifiedCounts | None = None,
) -> ExportManifest:
    """Export labelled pairs as a TRL-ready dataset under ``out`` and return its manifest.

    Args:
        pairs: the pairs with their votes (any iterable; read once).
        format: ``dpo``, ``reward``, ``kto`` or ``sft`` (see the module docstring for the columns).
        out: the folder to create; it must not exist unless ``overwrite``.
        source: the labelling rule (:func:`server.export.labels.resolve_label`).
        rubric: only votes and judgements under this rubric (``name@version``).
        min_agreement: drop pairs whose label agreement is below this fraction.
        drop_ties: also drop ties from ``sft`` (other formats always drop them).
        test_size: fraction of prompts in the ``test`` split; 0 writes only ``train``.
        seed: the split's seed.
        overwrite: replace an existing ``out`` (only once the new export is complete).
        certified: for ``source="certified"``, what the routing contributed (stored in the manifest).

    Returns:
        The :class:`ExportManifest`, also written to ``out/manifest.json``.

    Raises:
        ValueError: a bad argument (names it).
        FileExistsError: ``out`` exists and ``overwrite`` is False.
    """
    if (out := Path(out)).exists() and not overwrite:
        raise FileExistsError(f"out: {out} already exists; choose a new folder or pass overwrite=True")
    split_by_prompt([], test_size, seed)  # a bad test_size fails here, before any work
    filters = Filters(rubric=rubric, min_agreement=min_agreement, drop_ties=drop_ties)
    kept, dropped, seen = select_pairs(pairs, format=format, source=source, **filters.model_dump())
    conversational = format == "sft" or any(pair.prompt_is_chat for pair, _ in kept)
    if certified is not None:
        certified = certified.model_copy(update={"judge_labels": sum(label.source == "certified" for _, label in kept)})
    with replaced_atomically(out) as tmp:
        rows, prompts = _write_splits(tmp, _split(kept, test_size, seed), format, conversational, seed)
        manifest = seal(
            tmp, format=format, source=source, conversational=conversational, filters=filters,
            split=SplitSpec(test_size=test_size, seed=seed), pairs_in=seen, pairs_exported=len(kept), rows=rows,
            prompts=prompts, dropped=dropped, columns=columns_for(format), certified=certified,
        )  # fmt: skip
    return manifest


def _split(
    kept: list[tuple[ExportPair, Label]], test_size: float, seed: int
) -> dict[str, list[tuple[ExportPair, Label]]]:
    """The labelled pairs of each split (``train``, and ``test`` when asked), grouped by prompt."""
    assignment = split_by_prompt((pair.prompt_id for pair, _ in kept), test_size, seed)
    names = ["train", "test"] if test_size > 0 else ["train"]
    return {split: [(p, label) for p, label in kept if assignment[p.prompt_id] == split] for split in names}


def _write_splits(
    tmp: Path,
    by_split: dict[str, list[tuple[ExportPair, Label]]],
    format: ExportFormat,
    conversational: bool,
    seed: int,
) -> tuple[dict[str, int], dict[str, int]]:
    """Each split's rows as Parquet, JSONL and one ``DatasetDict``; (rows, prompts) per split."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from datasets import Dataset, DatasetDict, DatasetInfo

    features = features_for(format, conversational)
    splits: dict[str, Dataset] = {}
    for split, items in by_split.items():
        rows = rows_of(items, format, conversational=conversational)
        if format == "kto":
            rows = shuffle_rows(rows, seed)
        # Arrow straight from the column lists with the fixed schema: ~10x faster than Dataset.from_dict,
        # which runs its own type inference over every value first.
        table = pa.Table.from_pydict(to_columns(rows, list(features)), schema=features.arrow_schema)
        splits[split] = Dataset(table, info=DatasetInfo(features=features), split=split)
        # pyarrow directly: the table carries the `datasets` features in its schema metadata, and
        # Dataset.to_parquet fails on an empty split.
        pq.write_table(splits[split].data.table, tmp / f"{split}.parquet")
        write_jsonl(tmp / f"{split}.jsonl", rows)
    # An empty split would be saved as zero shards, which load_from_disk cannot read back: give it one.
    empty = {split: 1 for split, dataset in splits.items() if len(dataset) == 0}
    DatasetDict(splits).save_to_disk(str(tmp / DATASET_DIR), num_shards=empty)
    counts = {split: len(dataset) for split, dataset in splits.items()}
    return counts, {split: len({pair.prompt_id for pair, _ in items}) for split, items in by_split.items()}


def push_to_hub(out: Path, repo: str, *, private: bool = True, token: str | None = None) -> None:
    """Upload an export to the Hugging Face Hub: the ``DatasetDict`` plus ``manifest.json``.

    Needs network access and a token with write access (``token`` or the cached ``hf auth login``);
    it is not exercised by the test suite, which runs without network. The files are checked against
    the manifest first, so a modified export is never published as if rubricate had made it.

    Args:
        out: a folder written by :func:`export_dataset`.
        repo: the dataset repository, ``owner/name``.
        private: create the repository private (when it does not exist yet).
        token: a Hugging Face token; default: the locally saved one.

    Raises:
        ValueError: files under ``out`` do not match its manifest.
    """
    from datasets import DatasetDict
    from huggingface_hub import HfApi

    out = Path(out)
    changed = verify(out)
    if changed:
        raise ValueError(f"out: {out} does not match its manifest ({', '.join(changed)}); export it again")
    manifest = load_manifest(out)
    dataset = DatasetDict.load_from_disk(str(out / DATASET_DIR))
    dataset.push_to_hub(
        repo,
        private=private,
        token=token,
        commit_message=f"rubricate {manifest.rubricate_version}: {manifest.format} export from {manifest.source}",
    )
    HfApi(token=token).upload_file(
        path_or_fileobj=str(out / MANIFEST),
        path_in_repo="rubricate_manifest.json",
        repo_id=repo,
        repo_type="dataset",
    )


__all__ = [
    "FORMATS",
    "SOURCES",
    "ExportFormat",
    "ExportManifest",
    "build_columns",
    "build_rows",
    "columns_for",
    "export_dataset",
    "features_for",
    "json_line",
    "load_manifest",
    "push_to_hub",
    "select_pairs",
    "sha256_file",
    "split_by_prompt",
    "verify",
]
