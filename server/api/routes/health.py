"""`GET /health`: liveness, the database dialect and which API process answered; no auth."""

from __future__ import annotations

import os
from importlib.metadata import version

from fastapi import APIRouter
from sqlalchemy import text

from server.api.deps import StoreDep
from server.api.schemas import Health

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health)
def health(store: StoreDep) -> Health:
    with store.read() as session:
        session.execute(text("select 1"))
    return Health(status="ok", version=version("rubricate"), database=store.dialect, process=os.getpid())
