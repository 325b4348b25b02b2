"""``maskwatch bench``: stage timings, the naive loop and maskwatch on the same clip, and
the camera ladder end to end. Ends with one ``key=value`` line.

--quick: a reduced run (under 3 minutes); --smoke: a seconds-long check that the
benchmark runs (CI). Full runs write ``bench/results.json`` and ``bench/cameras.png``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from models.shared_data import REPO_ROOT, shared_dir

NAIVE_CLIP = "Gituatu_face-mask-detection_nomask.mp4"
OUT = Path(__file__).resolve().parent


def naive_throughput(clip: Path, seconds: float) -> dict[str, float]:
    proc = subprocess.run(
        [sys.executable, "-m", "bench.naive", str(clip), str(seconds)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=900,
    )
    result: dict[str, float] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def maskwatch_throughput(
    clip: Path, detect_size: int | None = None, tiles: int = 1, mirror: bool | None = None
) -> dict[str, float]:
    """The daemon's pipeline on a recorded file as fast as it goes (``scan``), one stream."""
    import cv2

    from config.cameras import CameraSettings
    from config.settings import Settings
    from daemon.scan import scan_camera_name, scan_video
    from workers.inference import InferenceStage

    wide = {"detect_width": 1280, "detect_tiles": tiles} if tiles > 1 else {}
    camera = CameraSettings(name=scan_camera_name(clip), url=str(clip), **wide)
    inference = {"detect_size": detect_size, "detect_mirror": mirror}
    settings = Settings(cameras=[camera], inference={k: v for k, v in inference.items() if v is not None})
    # models loaded and warmed up before the clock starts
    stage = InferenceStage(settings.inference, [camera])
    cap = cv2.VideoCapture(str(clip))
    video_s = cap.get(cv2.CAP_PROP_FRAME_COUNT) / (cap.get(cv2.CAP_PROP_FPS) or 25.0)
    cap.release()
    started = time.perf_counter()
    violations = scan_video(clip, settings, stage=stage)
    wall = time.perf_counter() - started
    return {"video_s": video_s, "wall_s": wall, "frames": stage.frames_processed, "violations": len(violations)}


def run_bench(
    quick: bool = False,
    smoke: bool = False,
    detect_size: int | None = None,
    tiles: int = 1,
    mirror: bool | None = None,
) -> int:
    """``detect_size``, ``tiles`` and ``mirror`` run the pipeline and the ladder at another detector
    input, with every camera tiled (``detect_tiles``, frames kept up to 1280 px; clips narrower than
    twice the detect size get fewer windows or none, as the daemon would give them), or with mirror
    averaging on or off (``inference.detect_mirror``). Such a run writes
    ``results[-quick]-d<size>-t<tiles>[-m<0|1>].json`` and leaves the default run's files alone;
    the stage timings always cover 320-512 px, mirror averaging at 416 px, and a 1280 px frame whole
    and in three windows."""
    from bench.e2e import run_load
    from bench.stages import sample_frames, stage_timings
    from config.runtime import InferenceSettings

    clip = shared_dir() / "videos" / NAIVE_CLIP
    results: dict[str, Any] = {"machine": _machine()}
    frames = sample_frames(clip, 8 if smoke else 24)
    results["stages"] = stage_timings(frames, reps=3 if smoke else 10)
    print(json.dumps(results["stages"], indent=1), flush=True)
    naive = naive_throughput(clip, 1.5 if smoke else (4.0 if quick else 8.0))
    ours = maskwatch_throughput(clip, detect_size, tiles, mirror)
    speedup = (ours["video_s"] / ours["wall_s"]) / (naive["video_s"] / naive["wall_s"])
    results["naive"], results["maskwatch_single_stream"] = naive, ours
    print(
        f"naive: {naive['video_s'] / naive['wall_s']:.2f} video-s per s; "
        f"maskwatch: {ours['video_s'] / ours['wall_s']:.2f} video-s per s",
        flush=True,
    )
    ladder = [1] if smoke else ([1, 2, 4, 6] if quick else [1, 2, 3, 4, 5, 6, 8])
    seconds = 4.0 if smoke else (12.0 if quick else 30.0)
    loads = []
    for k in ladder:
        load = run_load(k, seconds, detect_size=detect_size, tiles=tiles, mirror=mirror)
        loads.append(load)
        print(
            f"K={k}: {load.processed}/{load.sampled} processed ({load.fps_per_camera:.2f} fps/camera), "
            f"{load.dropped} dropped, latency p50 {load.latency_p50_ms:.0f} ms p95 {load.latency_p95_ms:.0f} ms, "
            f"alerts {load.alerts} (p95 {load.alert_latency_p95_ms}), CPU {load.cpu_percent:.0f}%, "
            f"RSS {load.peak_rss_mb:.0f} MB, {'real time' if load.realtime else 'NOT real time'}",
            flush=True,
        )
        if not load.realtime and not smoke:
            break
    results["cameras"] = [asdict(x) | {"realtime": x.realtime} for x in loads]
    realtime = max([x.cameras for x in loads if x.realtime], default=0)
    # the console must not slow the pipeline: the top real-time load again, console off then on
    top = max(realtime, 1)
    pair = {
        "off": run_load(top, seconds, detect_size=detect_size, tiles=tiles, mirror=mirror),
        "on": run_load(top, seconds, console=True, detect_size=detect_size, tiles=tiles, mirror=mirror),
    }
    for state, load in pair.items():
        print(
            f"K={top} console {state}: {load.processed}/{load.sampled} processed, latency p95 "
            f"{load.latency_p95_ms:.0f} ms, {'real time' if load.realtime else 'NOT real time'}"
            + (f", {load.console_requests} console requests" if load.console_requests is not None else ""),
            flush=True,
        )
    results["console"] = {state: asdict(x) | {"realtime": x.realtime} for state, x in pair.items()}
    alert_p95 = [x.alert_latency_p95_ms for x in loads if x.realtime and x.alert_latency_p95_ms is not None]
    summary = {
        "speedup_vs_naive": round(speedup, 2),
        "realtime_cameras": realtime,
        "alert_latency_p95_ms": round(max(alert_p95), 0) if alert_p95 else "nan",
        "latency_p95_ms": round(max((x.latency_p95_ms for x in loads if x.realtime), default=float("nan")), 0),
        "detect_onnx_416_ms": round(results["stages"]["detect_onnx_416_ms"], 1),
        "classify_b32_ms_per_face": round(results["stages"]["classify_b32_ms_per_face"], 2),
        "console_cameras": top,
        "console_off_realtime": pair["off"].realtime,
        "console_on_realtime": pair["on"].realtime,
        "console_off_latency_p95_ms": round(pair["off"].latency_p95_ms, 0),
        "console_on_latency_p95_ms": round(pair["on"].latency_p95_ms, 0),
    }
    results["summary"] = summary
    summary["detect_size"] = detect_size or InferenceSettings().detect_size
    summary["detect_tiles"] = tiles
    summary["detect_mirror"] = InferenceSettings().detect_mirror if mirror is None else mirror
    if not smoke:
        stem = "results-quick" if quick else "results"
        # a variant leaves the default run's files alone
        variant = detect_size is not None or tiles > 1 or mirror is not None
        if variant:
            stem += f"-d{summary['detect_size']}-t{tiles}" + ("" if mirror is None else f"-m{int(mirror)}")
        (OUT / f"{stem}.json").write_text(json.dumps(results, indent=1))
        if not variant:
            _plot(loads, OUT / ("cameras-quick.png" if quick else "cameras.png"))
    print(" ".join(f"{k}={v}" for k, v in summary.items()))
    return 0


def _machine() -> str:
    import os
    import platform

    return f"{platform.processor() or platform.machine()}, {len(os.sched_getaffinity(0))} cores, {platform.python_version()}"


def _plot(loads: list[Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ks = [x.cameras for x in loads]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(ks, [x.fps_per_camera for x in loads], "o-", label="processed fps per camera")
    ax.axhline(5.0, color="grey", ls=":", label="detect fps asked")
    ax.set_xlabel("cameras")
    ax.set_ylabel("fps per camera")
    ax2 = ax.twinx()
    ax2.plot(ks, [x.latency_p95_ms for x in loads], "s--", color="tab:red", label="p95 latency (ms)")
    ax2.set_ylabel("capture-to-judged p95 latency (ms)")
    fig.legend(loc="upper right")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
