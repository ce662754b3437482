"""An app-wide dependency: a JSON body with text the store cannot keep is a 422 up front.

JSON's `"\\ud800"` decodes to a lone surrogate and `"\\u0000"` to NUL; the first cannot be
written to SQLite, the second not to PostgreSQL. Refusing them before the route runs keeps the
answer in the error shape, names the field, and stores nothing.
"""

from __future__ import annotations

from fastapi import HTTPException, Request

from server.text import bad_text


async def storable_text(request: Request) -> None:
    """Refuse (422) a JSON body holding a lone surrogate or NUL anywhere, keys included."""
    if "json" not in request.headers.get("content-type", "") or not await request.body():
        return
    try:
        value = await request.json()
    except ValueError:  # FastAPI answers malformed JSON itself
        return
    found = bad_text(value)
    if found:
        where = f"body.{found[0]}" if found[0] else "body"
        raise HTTPException(422, f"invalid request: {where}: {found[1]}")
