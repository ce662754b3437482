"""Request and response models of the API: `XCreate` bodies reject unknown fields, `XPublic` replies."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from rubrics.outcomes import Outcome
from server.api.limits import Stamp
from server.imports.schema import ImportRow
from server.routing.store import DecisionRecord
from server.storage.records import Job, Verdict
from server.storage.repository import PairView

Role = Literal["admin", "author", "reviewer", "viewer"]
NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProjectCreate(Body):
    name: str = Field(pattern=NAME, description="Slug: letters, digits, '.', '_' and '-'.")
    description: str = Field(default="", max_length=5000)


class ProjectPublic(BaseModel):
    id: int
    name: str
    description: str
    role: str | None = None
    counts: dict[str, int] | None = None


class AnnotatorCreate(Body):
    name: str = Field(pattern=NAME)
    role: Role


class AnnotatorPublic(BaseModel):
    id: int
    name: str
    role: str


class AnnotatorCreated(AnnotatorPublic):
    token: str = Field(description="Shown once; only its hash is stored.")


class MemberAdd(Body):
    annotator: str = Field(description="Annotator name")
    role: Role | None = Field(default=None, description="Role in this project; default: the annotator's role")


class ImportRequest(Body):
    rows: list[ImportRow] = Field(max_length=100_000)
    skip_invalid: bool = False
    labels_as_accounts: bool = Field(
        default=False,
        description="Admins only: the rows' label names are existing accounts. Otherwise every label belongs to "
        "an import-only annotator `<project>/<name>` (no token).",
    )
    deidentify: bool = Field(
        default=False,
        description="Replace personal data (e-mails, phones, cards, IBANs, IPs, URLs with paths, names where a "
        "spaCy pipeline is installed) by typed placeholders like `<EMAIL_1>` before anything is stored.",
    )


class RankingPublic(BaseModel):
    annotator: str
    outcome: Outcome
    strength: int | None
    criteria: dict[str, Any]
    rationale: str | None
    mode: str | None
    source: str
    created_at: Stamp


class VerdictPublic(BaseModel):
    id: int
    judge_model: str
    rubric_version_id: int | None
    order: str | None
    outcome: str | None
    criteria: dict[str, Any]
    confidence: float | None
    rationale: str | None
    error: str | None
    params: dict[str, Any]
    usage: dict[str, Any]
    source: str

    @classmethod
    def of(cls, verdict: Verdict) -> VerdictPublic:
        return cls.model_validate(verdict, from_attributes=True)


class ResponsePublic(BaseModel):
    id: int
    text: str
    source: str


class PairPublic(BaseModel):
    id: int
    project_id: int
    prompt_id: int
    key: str
    prompt: list[dict[str, str]]
    response_a: ResponsePublic
    response_b: ResponsePublic
    rankings: list[RankingPublic]
    verdicts: list[VerdictPublic]
    adjudication: Outcome | None
    meta: dict[str, Any]
    routing: DecisionRecord | None = Field(
        default=None, description="The pair's certified-routing decision (accepted / escalated), if routed."
    )

    @classmethod
    def of(cls, view: PairView, *, with_labels: bool = True, routing: DecisionRecord | None = None) -> PairPublic:
        pair = view.pair
        return cls(
            routing=routing if with_labels else None,
            id=pair.id,
            project_id=pair.project_id,
            prompt_id=pair.prompt_id,
            key=pair.key,
            prompt=view.prompt.messages,
            meta=pair.meta,
            response_a=ResponsePublic.model_validate(view.response_a, from_attributes=True),
            response_b=ResponsePublic.model_validate(view.response_b, from_attributes=True),
            rankings=[
                RankingPublic(
                    annotator=name,
                    **{k: getattr(r, k) for k in RankingPublic.model_fields if k != "annotator"},
                )
                for r, name in view.rankings
            ]
            if with_labels
            else [],
            verdicts=[VerdictPublic.of(v) for v in view.verdicts] if with_labels else [],
            adjudication=view.adjudication.outcome if view.adjudication and with_labels else None,  # type: ignore[arg-type]
        )


class Page(BaseModel):
    items: list[PairPublic]
    total: int
    offset: int
    limit: int


class JobPublic(BaseModel):
    id: str
    kind: str
    project_id: int | None
    status: str
    total: int
    done: int
    failed: int
    params: dict[str, Any]
    result: dict[str, Any]
    error: str | None
    created_at: Stamp
    updated_at: Stamp
    attempts: int = Field(description="How many times a worker claimed it (more than 1: resumed after a worker died).")
    lease_owner: str | None = Field(description="The worker holding it (host:pid:id), while it runs.")
    lease_expires_at: Stamp | None = Field(description="When another worker may take it over, unless renewed.")
    errors: list[dict[str, str]] = Field(default_factory=list)

    @classmethod
    def of(cls, job: Job, errors: list[dict[str, str]] | None = None) -> JobPublic:
        data = {k: getattr(job, k) for k in cls.model_fields if k != "errors"}
        return cls(**data, errors=errors or [])


class Health(BaseModel):
    status: Literal["ok"]
    version: str
    database: str
    process: int = Field(description="The id of the API process that answered (tells `--workers` apart).")
