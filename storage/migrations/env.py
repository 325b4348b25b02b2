"""Alembic environment: runs on the connection handed over by ``storage.db.migrate``."""

from alembic import context
from sqlalchemy import create_engine

from storage.models import Base

connection = context.config.attributes.get("connection")
if connection is None:  # `alembic` command line: URL from the ini file or -x url=...
    url = context.get_x_argument(as_dictionary=True).get("url") or context.config.get_main_option("sqlalchemy.url")
    assert url, "pass -x url=DATABASE_URL"
    connection = create_engine(url).connect()
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
