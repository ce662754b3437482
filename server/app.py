"""The FastAPI application: `create_app(settings)` builds everything; nothing happens at import time.

>>> import tempfile
>>> app = create_app(Settings(home=tempfile.mkdtemp(prefix="rubricate-app-")))
>>> app.title
'rubricate'
"""

from __future__ import annotations

from importlib.metadata import version

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


def create_app(settings: Settings | None = None, store: Store | None = None) -> FastAPI:
    """Build the API over `store` (default: the migrated store at `settings.database_url`)."""
    settings = settings or Settings()
    app = FastAPI(
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
