"""Engine and session factory; migrations applied at start with Alembic."""

from __future__ import annotations

import contextlib
import fcntl
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from storage.private import create_private_file, make_private_dirs

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def make_engine(url: str) -> Engine:
    """SQLite gets WAL, a busy timeout and foreign keys; a missing file is created 0600 in 0700 folders
    (SQLite gives its -wal and -shm files the database file's mode)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:" and not parsed.database.startswith("file:"):
            make_private_dirs(Path(parsed.database).parent)
            create_private_file(parsed.database)
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


MIGRATION_LOCK_KEY = 0x6D61736B  # PostgreSQL advisory lock id ("mask")


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision (idempotent).

    Roles started together on one database (the supervisor's children) would otherwise
    race to create the same tables: one migrates while the others wait for it, on a file
    lock beside a SQLite database or a PostgreSQL advisory lock.

    On SQLite, Alembic changes a table by copying it and dropping the old one; with
    foreign keys on, that drop would cascade into ``alert_outbox`` and delete every alert.
    So foreign keys are off while migrating (a PRAGMA that only works outside a
    transaction), checked afterwards, and on again.
    """
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    database = engine.url.database
    sqlite = engine.dialect.name == "sqlite"
    with contextlib.ExitStack() as stack:
        if sqlite and database and database != ":memory:":
            lock_path = f"{database}.migrate-lock"
            create_private_file(lock_path)
            lock = stack.enter_context(open(lock_path, "a"))  # noqa: SIM115 - closed by the stack
            fcntl.flock(lock, fcntl.LOCK_EX)
        with engine.connect() as conn:
            if sqlite:
                conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
                conn.commit()
            with conn.begin():
                if engine.dialect.name == "postgresql":
                    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "head")
            if sqlite:
                broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                conn.exec_driver_sql("PRAGMA foreign_keys=ON")
                conn.commit()
                if broken:
                    raise RuntimeError(f"migration left rows that break foreign keys: {broken[:5]}")


class Database:
    """The engine plus a session factory; migrated on open."""

    def __init__(self, url: str, run_migrations: bool = True):
        self.url = url
        self.engine = make_engine(url)
        if run_migrations:
            migrate(self.engine)
        self.session: sessionmaker[Session] = sessionmaker(self.engine, expire_on_commit=False)

    def close(self) -> None:
        self.engine.dispose()
