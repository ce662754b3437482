"""The `pandalm` preset: PandaLM's human-labelled test set plus its two judges' verdicts.

The folder holds `testset-v1.json` (999 pairs, three annotators each; 0 = tie, 1 = response1,
2 = response2), `gpt-3.5-turbo-testset-v1.json` ("1", "2", "Tie", or "garbage" when the model's
output could not be read) and `pandalm-7b-testset-v1.json` (0/1/2). A prompt is the instruction
plus its input; `cmp_key` ("opt-7b_pythia-6.9b") names the models of response 1 and response 2.
Unreadable ("garbage") judge outputs become failed verdicts with their raw text.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from server.imports.readers import ImportFailed

HUMANS = "testset-v1.json"
JUDGES = {
    "gpt-3.5-turbo": ("gpt-3.5-turbo-testset-v1.json", "gpt_result", "gpt_reason", "gpt_reference"),
    "pandalm-7b": ("pandalm-7b-testset-v1.json", "pandalm_result", "pandalm_reason", "pandalm_reference"),
}
CODES = {0: "tie", 1: "a", 2: "b", "0": "tie", "1": "a", "2": "b", "Tie": "tie"}
ANNOTATORS = ("annotator1", "annotator2", "annotator3")


def _load(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        raise ImportFailed(f"{path}: missing (the pandalm preset reads a folder with {HUMANS} and the judges' files)")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ImportFailed(f"{path.name}:line {exc.lineno}: not valid JSON ({exc.msg})") from None


def response_text(value: Any) -> str:
    """A response as text: six PandaLM responses are JSON booleans (the model answered "True").

    >>> response_text(True), response_text("Yes.")
    ('True', 'Yes.')
    """
    return value if isinstance(value, str) else json.dumps(value) if value is None else str(value)


def prompt_text(item: dict[str, Any]) -> str:
    """The instruction plus its input, as one user message.

    >>> prompt_text({"instruction": "Fix the grammar.", "input": "he go home"})
    'Fix the grammar.\\n\\nhe go home'
    """
    instruction, extra = item["instruction"].strip(), (item.get("input") or "").strip()
    return f"{instruction}\n\n{extra}" if extra else instruction


def cmp_models(cmp_key: Any) -> dict[str, str]:
    """The models of response 1 and 2 from PandaLM's `cmp_key` (model names hold no `_`).

    >>> cmp_models("opt-7b_pythia-6.9b"), cmp_models(None)
    ({'model_a': 'opt-7b', 'model_b': 'pythia-6.9b'}, {})
    """
    parts = cmp_key.split("_") if isinstance(cmp_key, str) else []
    return {"model_a": parts[0], "model_b": parts[1]} if len(parts) == 2 and all(parts) else {}


def _verdict(judge: str, record: dict[str, Any], result_key: str, reason_key: str, ref_key: str) -> dict[str, Any]:
    result = record.get(result_key)
    verdict: dict[str, Any] = {
        "judge": judge,
        "order": "ab",
        "rationale": record.get(reason_key),
        "raw": json.dumps(record, ensure_ascii=False),
        "meta": {"reference": record.get(ref_key)},
    }
    if result in CODES:
        verdict["outcome"] = CODES[result]
    else:
        verdict["error"] = f"unreadable judge output: {result!r}"
    return verdict


def read_pandalm(folder: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield (location, ImportRow-shaped record) for every PandaLM test item."""
    if not folder.is_dir():
        raise ImportFailed(f"{folder}: the pandalm preset takes the folder that holds {HUMANS}")
    judges = {}
    for judge, (name, *keys) in JUDGES.items():
        judges[judge] = ({r["idx"]: r for r in _load(folder / name)}, keys)
    for number, item in enumerate(_load(folder / HUMANS), start=1):
        location = f"{HUMANS}:item {number}"
        try:
            labels = {f"pandalm/{name}": CODES[item[name]] for name in ANNOTATORS}
        except KeyError as exc:
            raise ImportFailed(f"{location}: labels: unknown or missing label {exc}") from None
        verdicts = [
            _verdict(judge, records[item["idx"]], *keys)
            for judge, (records, keys) in judges.items()
            if item["idx"] in records
        ]
        yield (
            location,
            {
                "id": str(item["idx"]),
                "prompt": prompt_text(item),
                "response_a": response_text(item["response1"]),
                "response_b": response_text(item["response2"]),
                **cmp_models(item.get("cmp_key")),
                "labels": labels,
                "verdicts": verdicts,
                "meta": {"cmp_key": item.get("cmp_key"), "motivation_app": item.get("motivation_app")},
            },
        )
