"""Schema management: the schema is made and upgraded by Alembic migrations, never create_all.

>>> import tempfile
>>> from server.storage.db import Store
>>> upgrade(Store(f"sqlite:///{tempfile.mkdtemp(prefix='rubricate-migrate-')}/rubricate.db"))
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from server.storage.append_only import protect_audit
from server.storage.db import Store

MIGRATIONS = Path(__file__).with_name("migrations")


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


MIGRATION_LOCK = 0x72756272  # PostgreSQL advisory lock key ("rubr"): one upgrade at a time per database


def upgrade(store: Store, revision: str = "heads") -> None:
    """Bring the database up to `revision` (default: every head, so sibling migrations from parallel
    branches apply without renumbering).

    On PostgreSQL the run holds an advisory lock until it commits, so API processes starting together
    (`serve --workers N`, several hosts) upgrade one after the other instead of racing on the DDL.
    """
    with store.engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
        config = _config()
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
        protect_audit(connection)
        connection.commit()


def is_current(store: Store) -> bool:
    """True when the database is at the newest migration."""
    heads = set(ScriptDirectory.from_config(_config()).get_heads())
    with store.engine.connect() as connection:
        return set(MigrationContext.configure(connection).get_current_heads()) == heads


def autogenerate(store: Store, message: str) -> None:
    """Write a new migration from the difference between tables.py and the database (developers)."""
    with store.engine.connect() as connection:
        config = _config()
        config.attributes["connection"] = connection
        command.revision(config, message=message, autogenerate=True)
