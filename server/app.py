"""The FastAPI application: `create_app(settings)` builds everything; nothing happens at import time.

>>> import tempfile
>>> app = create_app(Settings(home=tempfile.mkdtemp(prefix="rubricate-app-")))
>>> app.title
'rubricate'
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from importlib.metadata import version

import anyio.to_thread
from fastapi import Depends, FastAPI

from server.api import errors
from server.api.body_limit import BodyLimit
from server.api.rate_limits import RateLimits
from server.api.routes import agreement, exports, health, jobs, members, projects, review, routing, rubrics, tokens
from server.api.storable import storable_text
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
    routing.router,
)


def bounded_threads(threads: int) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """A lifespan that runs the sync routes on `threads` threads instead of anyio's 40: under 50 reviewers,
    40 threads only contend for the GIL, the SQLite write turn and the connection pool."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = threads
        yield

    return lifespan


def create_app(settings: Settings | None = None, store: Store | None = None) -> FastAPI:
    """Build the API over `store` (default: the migrated store at `settings.database_url`)."""
    settings = settings or Settings()
    app = FastAPI(
        lifespan=bounded_threads(settings.api_threads),
        title="rubricate",
        version=version("rubricate"),
        description="Preference and RLHF data from LLM judges and human reviewers, on versioned rubrics.",
        dependencies=[Depends(storable_text)],
    )
    app.state.settings = settings
    app.state.store = store or open_store(settings.database_url)
    app.state.rate_limits = RateLimits(settings)
    errors.install(app)
    for router in ROUTERS:
        app.include_router(router)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    return app
