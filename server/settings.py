"""Service configuration, read from `RUBRICATE_*` environment variables (pydantic-settings).

>>> s = Settings(home="/tmp/rb")
>>> s.database_url
'sqlite:////tmp/rb/rubricate.db'
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything a deployment may change; nothing here is read at import time."""

    model_config = SettingsConfigDict(env_prefix="RUBRICATE_", extra="forbid")

    home: Path = Field(default=Path(".rubricate"), description="State folder: SQLite store, models, logs.")
    database_url: str = Field(default="", description="SQLAlchemy URL; default: a SQLite file in home.")
    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8400, ge=1, le=65535)
    api_workers: int = Field(
        default=1, ge=1, le=64, description="API processes `rubricate serve` runs; more than one needs PostgreSQL."
    )
    api_url: str = Field(default="", description="Where the review UI finds the API; default from host/port.")
    model_base_url: str = Field(default="http://127.0.0.1:8000/v1", description="OpenAI-compatible endpoint.")
    judge_model: str = Field(default="hosted_vllm/smollm2-135m-instruct", description="litellm model name.")
    model_api_key: str | None = None
    max_body_bytes: int = Field(default=32 * 1024 * 1024, ge=1024)
    max_concurrency: int = Field(default=32, ge=1)
    api_threads: int = Field(
        default=8,
        ge=1,
        le=256,
        description="Threads that run the API's routes (at most the SQLite/PostgreSQL connection pool): more only "
        "queue on the GIL and the one SQLite writer, and past the pool a request waits on a connection.",
    )
    review_threads: int | None = Field(
        default=None,
        ge=1,
        le=64,
        description="Threads that run review turns (next assignment, ranking), apart from the API's; default 1 on "
        "SQLite (turns queue on its one writer, and more threads only make the writer wait for the GIL after each "
        "statement) and 4 on PostgreSQL (to overlap the round trips to a database on another host).",
    )
    stall_timeout_s: float = Field(
        default=120.0, gt=0, description="A model call fails as `timeout` after this long with no progress at all."
    )
    request_timeout_s: float | None = Field(
        default=None, gt=0, description="Optional cap on one request's total time; off by default."
    )
    model_stream: bool = Field(default=True, description="Stream model answers; off for providers that cannot.")
    model_dtype: Literal["auto", "bfloat16", "float32"] = Field(
        default="auto", description="The embedded vLLM model's dtype; auto picks it from the CPU."
    )
    deidentify_names_model: str = Field(
        default="en_core_web_lg",
        description="spaCy pipeline (package or folder) for person names in `import --deidentify`; used only if "
        "installed, else names are not replaced (no model is downloaded).",
    )

    allowed_models: list[str] = Field(
        default_factory=list,
        description="litellm models an author may name in a draft or judge request, besides RUBRICATE_JUDGE_MODEL "
        '(JSON list, e.g. ["hosted_vllm/qwen2.5-7b"]). Everything else is refused.',
    )

    api_worker: bool = Field(
        default=True,
        description="The API process runs draft and judge jobs itself; off when `rubricate worker` processes do.",
    )
    worker_jobs: int = Field(default=2, ge=1, description="Jobs one worker (the API's own included) runs at once.")
    job_lease_s: float = Field(
        default=30.0, gt=0, description="A worker's claim on a job: renewed every third of it, taken over after it."
    )

    rate_failed_auth: str = Field(
        default="30/minute", description="Failed sign-ins per client address (limits syntax)."
    )
    rate_heavy: str = Field(
        default="60/minute", description="Heavy requests (reports, imports, exports, jobs) per token (limits syntax)."
    )

    @field_validator("home")
    @classmethod
    def _absolute_home(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @model_validator(mode="after")
    def _defaults(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{self.home / 'rubricate.db'}"
        if not self.api_url:
            self.api_url = f"http://{self.api_host}:{self.api_port}"
        return self
