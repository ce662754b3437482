"""One error shape for every failure the API returns: `{"error": {"code", "message", "detail"}}`."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException
from starlette.routing import Match

from server.imports.readers import ImportFailed
from server.storage import Conflict, NotFound

log = logging.getLogger(__name__)


class ErrorBody(BaseModel):
    code: int
    message: str
    detail: list[dict[str, Any]] | None = None


class ErrorResponse(BaseModel):
    """Every 4xx/5xx body; declared in each route's `responses=` so it shows in OpenAPI."""

    error: ErrorBody


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The `responses=` entry for a route that can fail with `codes`."""
    return {code: {"model": ErrorResponse} for code in codes}


def _reply(
    code: int,
    message: str,
    detail: list[dict[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body = ErrorResponse(error=ErrorBody(code=code, message=message, detail=detail))
    headers = dict(headers or {})
    if code == 401:
        headers.setdefault("WWW-Authenticate", "Bearer")
    return JSONResponse(body.model_dump(), status_code=code, headers=headers or None)


def allowed_methods(request: Request) -> list[str]:
    """Every method some route answers at the request's path (the `Allow` of a 405)."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches(request.scope)
        if match is not Match.NONE:
            methods |= getattr(route, "methods", None) or set()
    return sorted(methods)


def install(app: FastAPI) -> None:
    """Map our exceptions and FastAPI's own onto the one shape."""

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> JSONResponse:
        headers = dict(exc.headers or {})
        if exc.status_code == 405:  # Starlette names the first matching route's methods only
            headers["Allow"] = ", ".join(allowed_methods(request))
        return _reply(exc.status_code, str(exc.detail), headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        detail = [
            {
                "field": ".".join(str(p) for p in e["loc"] if p != "body"),
                "problem": e["msg"],
                "type": e["type"],
            }
            for e in exc.errors()
        ]
        fields = ", ".join(f"{d['field']}: {d['problem']}" for d in detail)
        return _reply(422, f"invalid request: {fields}", detail)

    @app.exception_handler(NotFound)
    async def _not_found(_: Request, exc: NotFound) -> JSONResponse:
        return _reply(404, str(exc))

    @app.exception_handler(Conflict)
    async def _conflict(_: Request, exc: Conflict) -> JSONResponse:
        return _reply(409, str(exc))

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        # The last resort: a bug still answers in the one shape (and names no internals).
        log.exception("unhandled error", exc_info=exc)
        return _reply(500, "internal server error")

    @app.exception_handler(ImportFailed)
    async def _bad_import(_: Request, exc: ImportFailed) -> JSONResponse:
        return _reply(422, str(exc))
