"""History as the user reads it (`maskwatch violations/stats/cameras`), on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from sqlalchemy import inspect, select, text

from config.alerts import EmailSettings, MqttSettings
from core.violations import OpenedViolation
from storage.db import Database
from storage.models import CameraEvent, OutboxAlert, Violation
from storage.recorder import Recorder
from storage.retention import purge_older_than
from storage.snapshots import SnapshotStore
from tests.conftest import run_cli


def _record(db: Database, tmp_path: Path, camera: str, track: int, at: datetime) -> int | None:
    rec = Recorder(db, SnapshotStore(tmp_path / "snaps"), MqttSettings(enabled=True), EmailSettings())
    image = np.zeros((120, 160, 3), dtype=np.uint8)
    return rec.opened(OpenedViolation(camera, track, track, at, "without_mask", 0.9, image, (10, 10, 50, 60)))


def test_migrations_create_the_schema(db_url: str) -> None:
    db = Database(db_url)
    tables = set(inspect(db.engine).get_table_names())
    assert {"cameras", "camera_events", "violations", "face_counts", "alert_outbox", "alembic_version"} <= tables
    Database(db_url)  # a second start finds it migrated
    if db_url.startswith("sqlite"):
        with db.engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"


def test_upgrading_a_database_with_history_keeps_every_row(db_url: str) -> None:
    """A site's database at the first schema, with a violation and its alert, upgraded in place."""
    from alembic import command
    from alembic.config import Config

    from storage.db import MIGRATIONS, make_engine

    engine = make_engine(db_url)
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    now = datetime.now(UTC).replace(tzinfo=None)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
        conn.execute(
            text(
                "INSERT INTO violations (camera, track_id, first_frame_id, started_at, label, peak_score) "
                "VALUES ('gate', 3, 40, :t, 'without_mask', 0.9)"
            ),
            {"t": now},
        )
        conn.execute(
            text(
                "INSERT INTO alert_outbox (violation_id, channel, kind, payload, status, attempts, "
                "next_attempt_at, created_at) VALUES (1, 'mqtt', 'violation', '{}', 'pending', 0, :t, :t)"
            ),
            {"t": now},
        )
    engine.dispose()
    db = Database(db_url)  # migrates to the newest revision, as the daemon does at start
    with db.session() as s:
        (row,) = s.scalars(select(Violation)).all()
        assert (row.camera, row.session, row.first_frame_id) == ("gate", "", 40)
        assert [a.violation_id for a in s.scalars(select(OutboxAlert)).all()] == [1], "no alert lost"
    unique = {tuple(u["column_names"]) for u in inspect(db.engine).get_unique_constraints("violations")}
    assert ("camera", "session", "first_frame_id", "track_id") in unique
    if db_url.startswith("sqlite"):
        with db.engine.connect() as conn:
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    db.close()


def test_violations_command_filters_and_formats(db_url: str, tmp_path: Path) -> None:
    db = Database(db_url)
    now = datetime.now(UTC)
    a = _record(db, tmp_path, "gate", 1, now - timedelta(hours=3))
    b = _record(db, tmp_path, "gate", 2, now - timedelta(minutes=30))
    c = _record(db, tmp_path, "lobby", 3, now - timedelta(minutes=10))
    assert None not in (a, b, c)
    with db.session() as s:  # violation and its MQTT alert were written together
        assert s.scalar(select(OutboxAlert.violation_id).where(OutboxAlert.violation_id == b)) == b
    out = run_cli("violations", "--db", db_url, "--since", "2h", "--format", "json", check=True)
    rows = json.loads(out.stdout)
    assert [r["id"] for r in rows] == [b, c]
    out = run_cli("violations", "--db", db_url, "--camera", "gate", "--format", "csv", check=True)
    got = list(csv.DictReader(io.StringIO(out.stdout)))
    assert [int(r["id"]) for r in got] == [a, b] and got[0]["label"] == "without_mask"
    out = run_cli("violations", "--db", db_url, "--since", "yesterday-ish")
    assert out.returncode == 2 and "neither a duration" in out.stderr


def test_stats_and_cameras_commands(db_url: str, tmp_path: Path) -> None:
    db = Database(db_url)
    rec = Recorder(db, SnapshotStore(tmp_path / "snaps"), MqttSettings(), EmailSettings())
    now = datetime.now(UTC)
    for label in ("with_mask", "with_mask", "with_mask", "without_mask"):
        rec.person_seen("gate", now, label)
    rec.camera_status("gate", "offline", "cannot open rtsp://u:***@10.0.0.1/s", "rtsp://u:***@10.0.0.1/s")
    stats = json.loads(run_cli("stats", "--db", db_url, "--format", "json", check=True).stdout)
    assert stats[0]["camera"] == "gate" and stats[0]["with_mask"] == 3 and stats[0]["mask_rate"] == "75.0%"
    cams = json.loads(run_cli("cameras", "--db", db_url, "--format", "json", check=True).stdout)
    assert cams == [
        {"camera": "gate", "status": "offline", "since": cams[0]["since"], "source": "rtsp://u:***@10.0.0.1/s"}
    ]


def test_retention_removes_rows_and_files_together(db_url: str, tmp_path: Path) -> None:
    db = Database(db_url)
    now = datetime.now(UTC)
    old = _record(db, tmp_path, "gate", 1, now - timedelta(days=40))
    new = _record(db, tmp_path, "gate", 2, now - timedelta(days=1))
    with db.session() as s:
        old_row, new_row = s.get(Violation, old), s.get(Violation, new)
        assert old_row and new_row
        old_files = [Path(old_row.snapshot_path or ""), Path(old_row.crop_path or "")]
        new_files = [Path(new_row.snapshot_path or "")]
    assert all(f.exists() for f in old_files + new_files)
    with db.session.begin() as s:
        s.add(CameraEvent(camera="gate", kind="offline", at=now - timedelta(days=41), detail=""))
    assert purge_older_than(db, days=30) == 1
    assert not any(f.exists() for f in old_files) and all(f.exists() for f in new_files)
    with db.session() as s:
        assert [v.id for v in s.scalars(select(Violation))] == [new]
        assert s.scalars(select(CameraEvent)).all() == []
        assert all(a.violation_id == new for a in s.scalars(select(OutboxAlert)))
