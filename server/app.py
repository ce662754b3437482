"""The FastAPI application: `create_app(settings)` builds everything; nothing happens at import time.

>>> import tempfile
>>> app = create_app(Settings(home=tempfile.mkdtemp(prefix="rubricate-app-")))
>>> app.title
'rubricate'
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import version

import anyio.to_thread
from fastapi import Depends, FastAPI

from server.api import errors
from server.api.body_limit import BodyLimit
from server.api.rate_limits import RateLimits
from server.api.routes import (
    agreement,
    exports,
    health,
    jobs,
    leaderboard,
    members,
    projects,
    review,
    routing,
    rubrics,
    tokens,
)
from server.api.storable import storable_text
from server.jobs import BackgroundWorker, Worker
from server.llm import make_backend
from server.settings import Settings
from server.storage import Store, open_store

ROUTERS = (
    health.router,
    projects.router,
    members.router,
    tokens.router,
    review.router,
    exports.router,
    jobs.router,
    rubrics.router,
    agreement.router,
    leaderboard.router,
    routing.router,
)


def _worker(settings: Settings, store: Store) -> BackgroundWorker:
    """The API's own job worker (started with the app, or by the first job asked for)."""
    worker = Worker(store, lambda model: make_backend(settings, store, model), lease_s=settings.job_lease_s,
                    slots=settings.worker_jobs)  # fmt: skip
    return BackgroundWorker(worker)


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Run the sync routes on `RUBRICATE_API_THREADS` threads instead of anyio's 40 (under 50 reviewers, 40
    threads only contend for the GIL, the SQLite write turn and the connection pool); start the API's
    worker, so jobs queued before a restart are taken up; give its jobs back at shutdown."""
    anyio.to_thread.current_default_thread_limiter().total_tokens = app.state.settings.api_threads
    worker: BackgroundWorker | None = app.state.worker
    if worker is not None:
        worker.start()
    try:
        yield
    finally:
        if worker is not None:
            worker.stop()


def create_app(settings: Settings | None = None, store: Store | None = None) -> FastAPI:
    """Build the API over `store` (default: the migrated store at `settings.database_url`)."""
    settings = settings or Settings()
    app = FastAPI(
        title="rubricate",
        lifespan=_lifespan,
        version=version("rubricate"),
        description="Preference and RLHF data from LLM judges and human reviewers, on versioned rubrics.",
        dependencies=[Depends(storable_text)],
    )
    app.state.settings = settings
    app.state.store = store or open_store(settings.database_url)
    app.state.rate_limits = RateLimits(settings, app.state.store)
    app.state.worker = _worker(settings, app.state.store) if settings.api_worker else None
    errors.install(app)
    for router in ROUTERS:
        app.include_router(router)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    return app
