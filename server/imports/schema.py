"""The import row: one prompt, optionally a pair of responses with human labels and judge verdicts.

Every reader (JSONL, CSV, Parquet, `datasets` folders, presets) turns its records into `ImportRow`
objects, so validation and error messages are the same whatever the file format.

>>> row = ImportRow.model_validate({"prompt": "Hi", "response_a": "Hello", "response_b": "Yo",
...                                 "labels": {"ann1": "a"}})
>>> row.messages(), row.labels[0].outcome
([{'role': 'user', 'content': 'Hi'}], 'a')
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from rubrics.outcomes import Order, Outcome
from server.text import bad_text

ROLES = {"system", "user", "assistant", "tool"}


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: str
    content: str

    @field_validator("role")
    @classmethod
    def _known_role(cls, role: str) -> str:
        if role not in ROLES:
            raise ValueError(f"must be one of {sorted(ROLES)}")
        return role


class ImportLabel(BaseModel):
    """One annotator's outcome for the row's pair, in the row's (a, b) order."""

    model_config = ConfigDict(extra="forbid")
    annotator: str = Field(min_length=1, max_length=200)
    outcome: Outcome
    strength: int | None = Field(default=None, ge=-3, le=3)
    rationale: str | None = None


class ImportVerdict(BaseModel):
    """An external judge's verdict; `outcome` None with `error` set is a failed verdict, kept as such."""

    model_config = ConfigDict(extra="forbid")
    judge: str = Field(min_length=1, max_length=200)
    outcome: Outcome | None = None
    order: Order = Field(default="ab", description="Presentation order the judge saw: ab or ba.")
    confidence: float | None = Field(
        default=None, ge=0.0, le=1.0, description="The judge's own confidence in its outcome (routing's signal)."
    )
    rationale: str | None = None
    raw: str | None = None
    error: str | None = None
    meta: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _outcome_or_error(self) -> ImportVerdict:
        if self.outcome is None and not self.error:
            raise ValueError("a verdict needs an outcome (a, b, tie) or an error")
        return self


class ImportRow(BaseModel):
    """One record of an import file, after field mapping."""

    model_config = ConfigDict(extra="forbid")
    id: str | None = Field(
        default=None, min_length=1, max_length=256, description="External id; makes the pair's identity stable."
    )
    prompt: str | list[Message]
    response_a: str | None = None
    response_b: str | None = None
    reference: str | None = None
    model_a: str | None = Field(
        default=None, min_length=1, max_length=190, description="The model that wrote response_a (source model:NAME)."
    )
    model_b: str | None = Field(
        default=None, min_length=1, max_length=190, description="The model that wrote response_b (source model:NAME)."
    )
    labels: list[ImportLabel] = Field(default_factory=list)
    verdicts: list[ImportVerdict] = Field(default_factory=list)
    meta: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _storable_text(cls, value: Any) -> Any:
        found = bad_text(value)
        if found:
            raise ValueError(f"{found[0]}: {found[1]}")
        return value

    @field_validator("id", mode="before")
    @classmethod
    def _id_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) else value

    @field_validator("prompt")
    @classmethod
    def _non_empty_prompt(cls, value: str | list[Message]) -> str | list[Message]:
        if not value or (isinstance(value, str) and not value.strip()):
            raise ValueError("must not be empty")
        return value

    @field_validator("labels", mode="before")
    @classmethod
    def _labels_from_mapping(cls, value: Any) -> Any:
        # {"alice": "a", "bob": "tie"} is the short form of a list of labels.
        if isinstance(value, dict):
            return [{"annotator": name, "outcome": outcome} for name, outcome in value.items()]
        return value

    @model_validator(mode="after")
    def _pair_is_whole(self) -> ImportRow:
        if (self.response_a is None) != (self.response_b is None):
            raise ValueError("response_a and response_b come together (a pair) or not at all")
        if self.response_a is None and (self.labels or self.verdicts):
            raise ValueError("labels and verdicts need a pair of responses")
        if self.response_a is None and (self.model_a or self.model_b):
            raise ValueError("model_a and model_b name the models of a pair's responses: they need the pair")
        names = [label.annotator for label in self.labels]
        if len(names) != len(set(names)):
            raise ValueError("labels: one label per annotator")
        return self

    @property
    def is_chat(self) -> bool:
        return not isinstance(self.prompt, str)

    def models(self) -> dict[str, str]:
        """The pair's models by side, for the pair's meta (only the sides the row names).

        >>> ImportRow(prompt="Hi", response_a="Yo", response_b="Hey", model_a="opt-7b").models()
        {'a': 'opt-7b'}
        """
        return {side: name for side, name in (("a", self.model_a), ("b", self.model_b)) if name}

    def messages(self) -> list[dict[str, str]]:
        """The prompt as chat messages (a plain string is one user message)."""
        if isinstance(self.prompt, str):
            return [{"role": "user", "content": self.prompt}]
        return [m.model_dump() for m in self.prompt]


class ImportSummary(BaseModel):
    """What one import run added (a second run of the same data adds 0 of each)."""

    project: str
    prompts: int = 0
    responses: int = 0
    pairs: int = 0
    rankings: int = 0
    verdicts: int = 0
    annotators: int = 0
    skipped: int = 0
    failed_verdicts: int = 0
    deidentified: bool = False
    replaced: dict[str, int] = Field(
        default_factory=dict, description="De-identification: placeholders written, by type (EMAIL, PHONE, …)."
    )
    skipped_rows: list[str] = Field(default_factory=list)
