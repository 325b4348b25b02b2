"""``maskwatch soak``: the real daemon on real loopback servers for a while, under a seeded
schedule of faults, then the invariants a site would care about after months of running.

What runs: a GStreamer RTSP server showing two cameras a clip of one unmasked person each
(``Gituatu_face-mask-detection_nomask.mp4``, ``yash42828_test_no_mask.mp4``: one violation per
play in ``tests/test_scan.py``), every play followed by a black gap longer than the rejoin
window so that each play is a new person; mosquitto (persistent, as a production broker), an
aiosmtpd inbox, SQLite or a private PostgreSQL, and redis-server in Redis mode. The daemon is
``python -m daemon.cli run`` as a subprocess in its own session, so that a kill -9 takes its
whole process tree the way systemd kills a unit's cgroup.

What is checked at the end (daemon stopped with SIGTERM), against the database, a subscriber
of our own on ``maskwatch/+/violation`` (a kept session: it misses nothing while it reconnects)
and the SMTP inbox: every violation row has exactly one MQTT message and one email per
recipient, no message without a row, no row left open, no snapshot file without a row, the
violations per camera within what the plays shown to it allow, the daemon's RSS and open file
descriptors (summed over its process tree) flat after warm-up.

One ``key=value`` line goes to stdout; the story (faults, per-camera counts, each broken
invariant with the rows involved) goes to stderr and ``summary.json`` in the work dir.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path
from typing import Any

from bench.loopback.mqtt_watch import MqttWatcher
from bench.loopback.procs import Server, free_port, mosquitto, postgres_server, redis_server, rtsp_server
from bench.loopback.smtp import SmtpServer
from models.shared_data import REPO_ROOT, shared_dir

CLIPS = {"door": "Gituatu_face-mask-detection_nomask.mp4", "hall": "yash42828_test_no_mask.mp4"}
RECIPIENTS = ["guard@example.com", "lead@example.com"]
REJOIN_S = 10.0
"""The soak's own rejoin window (set in its config, whatever the default): each play is a new person."""
GAP_S = 14.0  # black after each play: longer than ``REJOIN_S``, so each play is a new person
QUICK_S = 170.0
FPS = 15
RSS_BOUND_MB = 150.0  # onnxruntime arenas and the JPEG buffers settle in the first minute; a leak shows past this
FD_BOUND = 20  # a socket or file leaked per reconnect or per alert shows past this within one schedule cycle
SAMPLE_S = 3.0
WARM_S = 30.0  # from a daemon's start to its first RSS sample that counts: models loaded, first plays judged
SETTLE_S = 25.0  # after a role or Redis restart: reconnect backoff and model loading while frames go by


def log(msg: str) -> None:
    print(f"soak {time.strftime('%H:%M:%S')} {msg}", file=sys.stderr, flush=True)


def parse_duration(text: str) -> float:
    """``90s``, ``20m``, ``1h`` or plain seconds."""
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([smh]?)", text.strip())
    if not m:
        raise ValueError(f"--duration {text!r}: expected a duration like 90s, 20m or 1h")
    return float(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[m.group(2)]


@dataclass
class SoakOptions:
    duration_s: float
    quick: bool = False
    seed: int = 0
    transport: str = "memory"
    db: str = "sqlite"
    workdir: Path | None = None


# --- the camera feed: one play = the clip then a black gap, repeated for the whole run ---------


@dataclass
class Feed:
    camera: str
    path: Path
    clip_s: float
    play_s: float


def _probe(clip: Path) -> tuple[int, int, float]:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=width,height:format=duration"]
        + ["-of", "json", str(clip)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    info = json.loads(out)
    return int(info["streams"][0]["width"]), int(info["streams"][0]["height"]), float(info["format"]["duration"])


def make_feed(camera: str, clip: Path, workdir: Path, seconds: float) -> Feed:
    """An MP4 long enough for ``seconds``: the clip at 15 fps (<= 640 wide, what the reader keeps)
    and ``GAP_S`` of black, repeated by stream copy. The RTSP server sends it as it is (no
    re-encoding in real time: the two cores are for the daemon)."""
    w, h, clip_s = _probe(clip)
    width = min(640, w)
    height = round(h * width / w / 2) * 2
    play = workdir / f"{camera}-play.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-i", str(clip), "-f", "lavfi"]
        + ["-i", f"color=c=black:s={width}x{height}:r={FPS}:d={GAP_S}"]
        + [
            "-filter_complex",
            f"[0:v]fps={FPS},scale={width}:{height},setsar=1[a];[1:v]setsar=1[b];[a][b]concat=n=2:v=1:a=0[v]",
        ]
        + ["-map", "[v]", "-c:v", "libx264", "-preset", "veryfast", "-bf", "0", "-g", str(FPS), "-pix_fmt", "yuv420p"]
        + [str(play)],
        check=True,
        capture_output=True,
    )
    play_s = _probe(play)[2]
    plays = int(seconds / play_s) + 3
    looped = workdir / f"{camera}.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-stream_loop", str(plays - 1), "-i", str(play), "-c", "copy", str(looped)],
        check=True,
        capture_output=True,
    )
    return Feed(camera, looped, clip_s, play_s)


# --- the daemon as a process tree ------------------------------------------------------------


class DaemonTree:
    """``maskwatch run`` in its own session; kill -9 takes the whole tree (systemd's cgroup kill)."""

    def __init__(self, config: Path, workdir: Path, metrics_port: int):
        self.config = config
        self.workdir = workdir
        self.metrics_port = metrics_port
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        tmp = self.workdir / "tmp"  # its own TMPDIR: what a killed daemon leaves behind is counted
        tmp.mkdir(exist_ok=True)
        with open(self.workdir / "daemon.log", "ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "daemon.cli", "run", "--config", str(self.config)],
                cwd=self.workdir,
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONPATH": str(REPO_ROOT), "TMPDIR": str(tmp)},
                start_new_session=True,
            )
        self.starts += 1

    def pids(self) -> list[int]:
        import psutil

        if self.proc is None:
            return []
        try:
            root = psutil.Process(self.proc.pid)
            return [root.pid] + [c.pid for c in root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def role_pid(self, role: str) -> int | None:
        """The child of the supervisor that runs ``role`` (``maskwatch ROLE --config ...``)."""
        import psutil

        for pid in self.pids()[1:]:
            try:
                if role in psutil.Process(pid).cmdline()[3:4]:
                    return pid
            except psutil.NoSuchProcess:
                continue
        return None

    def kill9(self) -> None:
        assert self.proc is not None
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()

    def stop(self, timeout: float = 90.0) -> int:
        """SIGTERM to the main process, as systemd stops it; kill -9 past ``timeout``."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            log(f"daemon did not stop within {timeout:.0f} s of SIGTERM; kill -9")
            self.kill9()
            return -9

    def wait_healthy(self, timeout: float = 90.0) -> bool:
        """True once /healthz answers at all (200 or 503): the daemon is up and serving."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                return False
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/healthz", timeout=2):  # noqa: S310
                    return True
            except urllib.error.HTTPError:
                return True
            except OSError:
                time.sleep(0.5)
        return False


class Sampler(threading.Thread):
    """RSS and open fds of the daemon's process tree every few seconds."""

    def __init__(self, daemon: DaemonTree, stop: threading.Event):
        super().__init__(name="sampler", daemon=True)
        self.daemon_tree = daemon
        self.stop = stop
        self.samples: list[tuple[float, float, int, int]] = []  # time, rss MiB, fds, root pid

    def run(self) -> None:
        import psutil

        while not self.stop.wait(SAMPLE_S):
            rss, fds, seen = 0, 0, 0
            pids = self.daemon_tree.pids()
            for pid in pids:
                try:
                    p = psutil.Process(pid)
                    rss += p.memory_info().rss
                    fds += p.num_fds()
                    seen += 1
                except psutil.NoSuchProcess:
                    continue
            if seen:
                self.samples.append((time.time(), rss / 2**20, fds, pids[0]))


# --- faults ----------------------------------------------------------------------------------


@dataclass
class FaultRecord:
    name: str
    start: float
    end: float
    settle: float | None  # None: cameras keep being judged; else what they are shown until end + settle may be missed


@dataclass
class Rig:
    opts: SoakOptions
    workdir: Path
    daemon: DaemonTree
    rtsp: Server
    broker: Server
    smtp: SmtpServer
    db_url: str
    sqlite_path: Path | None
    pg: Server | None
    redis: Server | None
    rtsp_kills: list[float] = field(default_factory=list)
    daemon_starts: list[tuple[float, float]] = field(default_factory=list)  # when, and how long it may be blind
    faults: list[FaultRecord] = field(default_factory=list)

    def _record(self, name: str, start: float, settle: float | None) -> None:
        self.faults.append(FaultRecord(name, start, time.time(), settle))
        log(f"fault {name} done in {time.time() - start:.1f} s")

    def start_daemon(self) -> None:
        self.daemon_starts.append((time.time(), SETTLE_S if self.redis is not None else 0.0))
        self.daemon.start()

    def daemon_kill(self) -> None:
        start = time.time()
        self.daemon.kill9()
        self.start_daemon()
        if not self.daemon.wait_healthy():
            log("the restarted daemon is not serving /healthz")
        # embedded: the readers connect once the models are loaded, so the RTSP sessions say it all;
        # Redis: the reader may stream before inference is ready
        self._record("daemon_kill", start, SETTLE_S if self.redis is not None else 0.0)

    def role_kill(self, role: str) -> None:
        start = time.time()
        pid = self.daemon.role_pid(role)
        if pid is None:
            log(f"no {role} child to kill")
            return
        os.kill(pid, signal.SIGKILL)
        self._record(f"kill_{role}", start, 0.0 if role == "reader" else SETTLE_S)

    def redis_restart(self) -> None:
        assert self.redis is not None
        start = time.time()
        self.redis.restart()
        self._record("redis_restart", start, SETTLE_S)

    def broker_down(self, seconds: float) -> None:
        start = time.time()
        self.broker.stop()
        time.sleep(seconds)
        self.broker.start()
        self._record("broker_down", start, None)

    def rtsp_kill(self, seconds: float) -> None:
        start = time.time()
        assert self.rtsp.proc is not None
        os.killpg(self.rtsp.proc.pid, signal.SIGKILL)
        self.rtsp.proc.wait()
        self.rtsp.proc = None
        self.rtsp_kills.append(time.time())
        time.sleep(seconds)
        self.rtsp.start()
        self._record("rtsp_kill", start, 0.0)

    def rtsp_stall(self, seconds: float) -> None:
        start = time.time()
        self.rtsp.pause()
        time.sleep(seconds)
        self.rtsp.resume()
        self._record("rtsp_stall", start, 0.0)  # the stalled session "closes" only after the resume

    def smtp_refuse(self, seconds: float) -> None:
        start = time.time()
        self.smtp.inbox.refuse = True
        time.sleep(seconds)
        self.smtp.inbox.refuse = False
        self._record("smtp_refuse", start, None)

    def db_outage(self, seconds: float) -> None:
        """SQLite: another connection holds the write lock; PostgreSQL: the server is down."""
        start = time.time()
        if self.sqlite_path is not None:
            con = sqlite3.connect(self.sqlite_path, timeout=30, isolation_level=None)
            con.execute("BEGIN EXCLUSIVE")
            time.sleep(seconds)
            con.execute("ROLLBACK")
            con.close()
            self._record("db_locked", start, None)
        else:
            assert self.pg is not None and self.pg.proc is not None
            os.killpg(self.pg.proc.pid, signal.SIGINT)  # fast shutdown: sessions are cut, as in a failover
            self.pg.proc.wait(30)
            self.pg.proc = None
            time.sleep(seconds)
            self.pg.start(timeout=30)
            self._record("db_down", start, None)


def schedule(rig: Rig, rng: random.Random) -> list[Callable[[], None]]:
    """One cycle of faults in a seeded order; --quick keeps the short ones that must always hold."""
    quick = rig.opts.quick
    faults: list[Callable[[], None]] = [
        rig.daemon_kill,
        lambda: rig.broker_down(rng.uniform(8, 12) if quick else rng.uniform(10, 40)),
        lambda: rig.rtsp_stall(rng.uniform(13, 16) if quick else rng.uniform(13, 30)),
        lambda: rig.smtp_refuse(rng.uniform(15, 20) if quick else rng.uniform(15, 60)),
        lambda: rig.db_outage(rng.uniform(4, 6) if quick else rng.uniform(4, 12)),
    ]
    if not quick:
        faults.append(lambda: rig.rtsp_kill(rng.uniform(5, 20)))
    if rig.redis is not None:
        roles = ["reader", "infer", "events"] if not quick else [rng.choice(["reader", "infer", "events"])]
        faults += [lambda r=r: rig.role_kill(r) for r in roles]  # type: ignore[misc]
        faults.append(rig.redis_restart)
    rng.shuffle(faults)
    return faults


# --- what was received, and the invariants ---------------------------------------------------


def rtsp_sessions(server_log: Path, kills: list[float], end: float) -> dict[str, list[tuple[float, float]]]:
    """Each camera's RTSP sessions (play .. closed). A server killed with its sessions open never
    printed their end: they end at the kill that preceded its next start (or at ``end``)."""
    sessions: dict[str, list[tuple[float, float]]] = {}
    open_: dict[str, list[float]] = {}
    starts = 0

    def cut(at: float) -> None:
        for mount, began in open_.items():
            sessions.setdefault(mount, []).extend((b, at) for b in began)
        open_.clear()

    for line in server_log.read_text().splitlines():
        parts = line.split()
        if line.startswith("rtsp server on"):
            if starts:
                cut(kills[starts - 1] if starts - 1 < len(kills) else end)
            starts += 1
        elif len(parts) == 3 and parts[0] == "play":
            open_.setdefault(parts[1].strip("/"), []).append(float(parts[2]))
        elif len(parts) == 3 and parts[0] == "closed" and open_.get(parts[1].strip("/")):
            sessions.setdefault(parts[1].strip("/"), []).append((open_[parts[1].strip("/")].pop(0), float(parts[2])))
    cut(end)
    return sessions


def blind_windows(faults: list[FaultRecord], starts: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """When a camera may miss what it is shown: each blinding fault until it settled, and each
    daemon start until ``settle`` after it (zero for the embedded daemon, see ``daemon_kill``)."""
    return [(f.start, f.end + f.settle) for f in faults if f.settle is not None] + [(t, t + d) for t, d in starts]


def expected_range(
    feed: Feed, sessions: list[tuple[float, float]], windows: list[tuple[float, float]]
) -> tuple[int, int, int, int]:
    """(at least, at most, plays shown whole, plays begun) violations for what this camera was shown.

    Each RTSP session starts the feed from its first play, and every play is a new person (the
    black gap outlasts the rejoin window). At least: the plays shown whole outside any blind
    window, minus one for a play judged at an edge (inference falling behind on a loaded CPU).
    At most: every play that began (a kill can cut a person after the violation was recorded),
    plus one for a person the tracker lost for longer than the rejoin window.
    """
    whole = began = 0
    for s, e in sessions:
        k = 0
        while s + k * feed.play_s < e:
            a, b = s + k * feed.play_s, s + k * feed.play_s + feed.clip_s
            began += 1
            if b <= e - 1 and not any(a < we and b > ws for ws, we in windows):
                whole += 1
            k += 1
    return max(0, whole - 1), began + 1, whole, began


def growth(samples: list[tuple[float, float, int, int]], warm_s: float) -> tuple[float, int]:
    """The largest RSS (MiB) and fd growth of one daemon incarnation (one root pid), from its first
    sample ``warm_s`` after it started to its last: a restart resets a leak, so each is measured alone."""
    rss, fds = 0.0, 0
    for root in dict.fromkeys(s[3] for s in samples):
        mine = [s for s in samples if s[3] == root]
        warm = [s for s in mine if s[0] >= mine[0][0] + warm_s]
        if len(warm) >= 2:
            rss = max(rss, warm[-1][1] - warm[0][1])
            fds = max(fds, warm[-1][2] - warm[0][2])
    return round(rss, 1), fds


def _subject_key(mail: Message) -> tuple[str, str, str] | None:
    m = re.search(r" on (\S+) at (\S+)$", str(mail.get("Subject", "")))
    return (m.group(1), m.group(2), str(mail.get("To", ""))) if m else None


def check(rig: Rig, feeds: list[Feed], watcher: MqttWatcher, sampler: Sampler, t0: float) -> dict[str, Any]:
    from sqlalchemy import select

    from storage.db import Database
    from storage.models import OutboxAlert, Violation

    db = Database(rig.db_url, run_migrations=False)
    with db.session() as s:
        rows = list(s.scalars(select(Violation).order_by(Violation.id)).all())
        pending = len(s.scalars(select(OutboxAlert.id).where(OutboxAlert.status == "pending")).all())
    db.close()
    by_id = {v.id: v for v in rows}
    mqtt_msgs = [m for m in watcher.messages if m.topic.endswith("/violation") and isinstance(m.body, dict)]
    fresh = Counter(m.body.get("id") for m in mqtt_msgs if not m.dup)
    redelivered = sum(1 for m in mqtt_msgs if m.dup)
    with rig.smtp.inbox.lock:
        mails = Counter(_subject_key(m) for m in rig.smtp.inbox.messages)
    mail_of = {(v.camera, v.started_at.isoformat(), r): (v.id, r) for v in rows for r in RECIPIENTS}

    problems: list[str] = []
    lost = duplicated = phantoms = 0
    for v in rows:
        n = fresh.get(v.id, 0)
        if n == 0:
            lost += 1
            problems.append(f"violation {v.id} ({v.camera} {v.started_at:%H:%M:%S}): no MQTT message")
        elif n > 1:
            duplicated += n - 1
            problems.append(f"violation {v.id}: {n} MQTT messages")
    for vid in fresh:
        if vid not in by_id:
            phantoms += 1
            problems.append(f"MQTT message for violation {vid}: no such row")
    for key, (vid, rcpt) in mail_of.items():
        n = mails.get(key, 0)
        if n == 0:
            lost += 1
            problems.append(f"violation {vid}: no email to {rcpt}")
        elif n > 1:
            duplicated += n - 1
            problems.append(f"violation {vid}: {n} emails to {rcpt}")
    for mail_key, n in mails.items():
        if mail_key not in mail_of:
            phantoms += n
            problems.append(f"email {mail_key}: no such violation row")
    open_left = [v for v in rows if v.ended_at is None]
    problems += [f"violation {v.id} ({v.camera}) left open" for v in open_left]
    known = {str(Path(p).resolve()) for v in rows for p in (v.snapshot_path, v.crop_path) if p}
    files = [p for p in (rig.workdir / "snapshots").rglob("*.jpg") if str(p.resolve()) not in known]
    problems += [f"snapshot {p} has no row" for p in files[:20]]

    end = time.time()
    sessions = rtsp_sessions(rig.workdir / "rtsp" / "server.log", rig.rtsp_kills, end)
    per_camera: dict[str, dict[str, Any]] = {}
    out_of_range = plays = 0
    windows = blind_windows(rig.faults, rig.daemon_starts)
    for feed in feeds:
        got = sum(1 for v in rows if v.camera == feed.camera)
        low, high, whole, began = expected_range(feed, sessions.get(feed.camera, []), windows)
        plays += whole
        per_camera[feed.camera] = {
            "violations": got,
            "at_least": low,
            "at_most": high,
            "plays_whole": whole,
            "plays_begun": began,
            "play_s": feed.play_s,
            "sessions": sessions.get(feed.camera, []),
        }
        if not low <= got <= high:
            out_of_range += 1
            problems.append(f"camera {feed.camera}: {got} violations, expected {low}..{high} for the plays shown")

    rss_growth, fd_growth = growth(sampler.samples, WARM_S)
    if rss_growth > RSS_BOUND_MB:
        problems.append(f"RSS grew {rss_growth} MiB after warm-up (bound {RSS_BOUND_MB})")
    if fd_growth > FD_BOUND:
        problems.append(f"open fds grew by {fd_growth} after warm-up (bound {FD_BOUND})")
    if not rows:
        problems.append("no violation was recorded at all")
    ok = not problems
    return {
        "summary": {
            "duration_s": round(end - t0),
            "transport": rig.opts.transport,
            "db": rig.opts.db,
            "seed": rig.opts.seed,
            "faults": len(rig.faults),
            "violations": len(rows),
            "lost": lost,
            "duplicated": duplicated,
            "phantoms": phantoms,
            "open_left": len(open_left),
            "orphans": len(files),
            "pending_left": pending,
            "plays": plays,
            "out_of_range": out_of_range,
            "mqtt_redelivered": redelivered,
            "rss_growth_mb": rss_growth,
            "fd_growth": fd_growth,
            "ok": int(ok),
        },
        "cameras": per_camera,
        "faults": [f.__dict__ for f in rig.faults],
        "problems": problems,
        # not an invariant (under systemd, PrivateTmp empties /tmp at each start): what kills left behind
        "tmp_left": sorted(p.name for p in (rig.workdir / "tmp").iterdir()) if (rig.workdir / "tmp").is_dir() else [],
        "samples": sampler.samples,
    }


# --- the run ---------------------------------------------------------------------------------


def _config(
    rig_dir: Path,
    rtsp_port: int,
    mqtt_port: int,
    smtp_port: int,
    db_url: str,
    metrics_port: int,
    redis_url: str | None,
) -> Path:
    cams = "".join(f"  - name: {c}\n    url: rtsp://127.0.0.1:{rtsp_port}/{c}\n" for c in CLIPS)
    transport = f"transport:\n  type: redis\n  redis_url: {redis_url}\n" if redis_url else ""
    cfg = rig_dir / "maskwatch.yaml"
    cfg.write_text(
        f"cameras:\n{cams}{transport}"
        f"database:\n  url: {db_url}\n"
        f"snapshots:\n  dir: {rig_dir}/snapshots\n"
        f"mqtt:\n  enabled: true\n  port: {mqtt_port}\n  client_id: maskwatch-soak\n"
        f"email:\n  enabled: true\n  port: {smtp_port}\n  security: none\n  recipients: [{', '.join(RECIPIENTS)}]\n"
        f"violations:\n  rejoin_seconds: {REJOIN_S}\n"
        "delivery:\n  retry_initial_seconds: 0.5\n  retry_max_seconds: 5\n  poll_seconds: 0.2\n"
        f"metrics:\n  port: {metrics_port}\n"
    )
    return cfg


def _wait_drained(db_url: str, timeout: float) -> int:
    """Pending alerts left after waiting up to ``timeout`` s for the outbox to empty."""
    from sqlalchemy import func, select

    from storage.db import Database
    from storage.models import OutboxAlert

    deadline = time.monotonic() + timeout
    db = Database(db_url, run_migrations=False)
    try:
        while True:
            try:
                with db.session() as s:
                    left = int(
                        s.scalar(select(func.count()).select_from(OutboxAlert).where(OutboxAlert.status == "pending"))
                        or 0
                    )
            except Exception as exc:  # noqa: BLE001 - the database may be the fault just injected
                log(f"outbox not readable yet: {exc}")
                left = -1
            if left == 0 or time.monotonic() > deadline:
                return left
            time.sleep(1)
    finally:
        db.close()


def run_soak(opts: SoakOptions) -> int:
    workdir = opts.workdir or Path(tempfile.mkdtemp(prefix="mw-soak-"))
    workdir.mkdir(parents=True, exist_ok=True)
    for sub in ("rtsp", "broker", "redis"):
        (workdir / sub).mkdir(exist_ok=True)
    rng = random.Random(opts.seed)
    log(f"work dir {workdir}; {opts.duration_s:.0f} s, transport {opts.transport}, {opts.db}, seed {opts.seed}")
    videos = shared_dir() / "videos"
    feeds = [make_feed(cam, videos / clip, workdir / "rtsp", opts.duration_s + 120) for cam, clip in CLIPS.items()]
    started: list[Server] = []
    smtp = SmtpServer(free_port()).start()
    pg: Server | None = None
    redis: Server | None = None
    watcher: MqttWatcher | None = None
    daemon: DaemonTree | None = None
    stop_sampling = threading.Event()
    pg_data: Path | None = None
    try:
        rtsp = rtsp_server(workdir / "rtsp", {f.camera: str(f.path) for f in feeds}, passthrough=True).start()
        started.append(rtsp)
        broker = mosquitto(workdir / "broker", persistent=True).start()
        started.append(broker)
        sqlite_path: Path | None = None
        if opts.db == "postgresql":
            pg, db_url = postgres_server(workdir)
            pg_data = pg.workdir
            pg.start(timeout=30)
            started.append(pg)
            time.sleep(0.5)
        else:
            sqlite_path = workdir / "mw.db"
            db_url = f"sqlite:///{sqlite_path}"
        redis_url = None
        if opts.transport == "redis":
            redis = redis_server(workdir / "redis").start()
            started.append(redis)
            redis_url = f"redis://127.0.0.1:{redis.port}/0"
        metrics_port = free_port()
        cfg = _config(workdir, rtsp.port, broker.port, smtp.port, db_url, metrics_port, redis_url)
        watcher = MqttWatcher(broker.port, topic="maskwatch/+/violation", persistent_id="maskwatch-soak-subscriber")
        daemon = DaemonTree(cfg, workdir, metrics_port)
        rig = Rig(opts, workdir, daemon, rtsp, broker, smtp, db_url, sqlite_path, pg, redis)
        t0 = time.time()
        rig.start_daemon()
        sampler = Sampler(daemon, stop_sampling)
        sampler.start()
        if not daemon.wait_healthy(120):
            log("the daemon never served /healthz; see daemon.log")
        time.sleep(20)  # the first play judged before anything breaks
        # --quick: one cycle, all of it; longer runs: cycles until a minute before the end
        deadline = t0 + opts.duration_s - 60
        while opts.quick or time.time() < deadline:
            for fault in schedule(rig, rng):
                if not opts.quick and time.time() >= deadline:
                    break
                fault()
                gap = rng.uniform(6, 9) if opts.quick else rng.uniform(20, 60)
                time.sleep(gap if opts.quick else max(0.0, min(gap, deadline - time.time())))
            if opts.quick:
                break
        # the tail: at least one whole play after the last fault has settled
        time.sleep(max(SETTLE_S, t0 + opts.duration_s - time.time()))
        left = _wait_drained(db_url, 60)
        log(f"outbox: {left} pending before the stop")
        stop_sampling.set()
        code = daemon.stop()
        log(f"daemon stopped with exit code {code}")
        time.sleep(3)  # the last messages the shutdown flushed
        result = check(rig, feeds, watcher, sampler, t0)
        if code != 0:
            result["problems"].append(f"the daemon exited {code} on SIGTERM")
            result["summary"]["ok"] = 0
    except BaseException:
        if pg_data is not None:
            shutil.rmtree(pg_data, ignore_errors=True)
        raise
    finally:
        stop_sampling.set()
        if daemon is not None and daemon.proc is not None and daemon.proc.poll() is None:
            daemon.kill9()
        if watcher is not None:
            watcher.close()
        for server in reversed(started):
            server.stop()
        smtp.stop()
    (workdir / "summary.json").write_text(json.dumps(result, indent=1, default=str))
    for cam, c in result["cameras"].items():
        log(
            f"camera {cam}: {c['violations']} violations, allowed {c['at_least']}..{c['at_most']} "
            f"({c['plays_whole']} plays shown whole, {c['plays_begun']} begun)"
        )
    for f in result["faults"]:
        log(f"fault {f['name']} at +{f['start'] - t0:.0f} s for {f['end'] - f['start']:.1f} s")
    log(f"left in the daemon's TMPDIR: {', '.join(result['tmp_left']) or 'nothing'}")
    for p in result["problems"]:
        log(f"FAILED: {p}")
    print(" ".join(f"{k}={v}" for k, v in result["summary"].items()), flush=True)
    ok = bool(result["summary"]["ok"])
    if pg_data is not None and ok:
        shutil.rmtree(pg_data, ignore_errors=True)
    elif pg_data is not None:
        log(f"kept the PostgreSQL data in {pg_data} (postgres -D it to look)")
    if ok and opts.workdir is None:
        shutil.rmtree(workdir, ignore_errors=True)
    else:
        log(f"kept {workdir} (daemon.log, summary.json, the database, snapshots)")
    return 0 if ok else 1
