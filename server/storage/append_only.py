"""The audit log is append-only in the database itself: triggers refuse UPDATE, DELETE (and on
PostgreSQL TRUNCATE) of `audit_events`, whoever holds a connection.

`protect_audit` runs after every migration run (see :func:`server.storage.migrate.upgrade`) and is
idempotent, so a database whose trigger was dropped gets it back on the next open.

>>> import tempfile
>>> from sqlalchemy import text
>>> from server.storage import open_store
>>> store = open_store(f"sqlite:///{tempfile.mkdtemp(prefix='rubricate-audit-')}/rubricate.db")
>>> with store.engine.connect() as c:
...     _ = c.execute(text("insert into audit_events (at, action, object_type) values (current_timestamp, 'x', 'y')"))
...     try:
...         c.execute(text("delete from audit_events"))
...     except Exception as exc:
...         print("refused:", "append-only" in str(exc))
refused: True
"""

from __future__ import annotations

from sqlalchemy import Connection

MESSAGE = "audit_events is append-only"

_SQLITE = [
    f"CREATE TRIGGER IF NOT EXISTS audit_events_no_{verb.lower()} BEFORE {verb} ON audit_events "
    f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
    for verb in ("UPDATE", "DELETE")
]

_POSTGRESQL = [
    f"""CREATE OR REPLACE FUNCTION rubricate_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION '{MESSAGE} (%% refused)', TG_OP; END $$""",
    "DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events",
    """CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION rubricate_audit_append_only()""",
    "DROP TRIGGER IF EXISTS audit_events_no_truncate ON audit_events",
    """CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION rubricate_audit_append_only()""",
]


def protect_audit(connection: Connection) -> None:
    """Create (or re-create) the triggers that keep `audit_events` append-only."""
    statements = _POSTGRESQL if connection.dialect.name == "postgresql" else _SQLITE
    for statement in statements:
        connection.exec_driver_sql(statement)
