"""Bounds of what a request may name: ids and offsets fit a signed 64-bit column, stamps carry UTC.

Both databases store integers as signed 64-bit, so an id or an offset past `MAX_INT` can name
nothing; declaring the bound makes it a 422 in the error shape (and part of the OpenAPI document)
instead of an overflow deep in the driver.

>>> MAX_INT == 2**63 - 1
True
>>> from datetime import datetime
>>> utc(datetime(2026, 1, 2, 3, 4)).isoformat()
'2026-01-02T03:04:00+00:00'
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import Path, Query
from pydantic import AfterValidator

MAX_INT = 2**63 - 1


def utc(value: datetime) -> datetime:
    """`value` with its timezone; SQLite hands back naive datetimes, which are stored as UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


Id = Annotated[int, Path(ge=1, le=MAX_INT, description="A stored id (1 .. 2^63-1).")]
Offset = Annotated[int, Query(ge=0, le=MAX_INT, description="Items to skip.")]
Stamp = Annotated[datetime, AfterValidator(utc)]
