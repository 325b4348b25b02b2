"""Violation history: SQLAlchemy models, migrations, queries, snapshot files, retention."""
