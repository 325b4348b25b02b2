"""The benchmark is not a timed test: CI only checks that its reduced form runs and reports."""

from __future__ import annotations

import re

from tests.conftest import run_cli


def test_bench_quick_smoke_prints_its_line() -> None:
    res = run_cli("bench", "--quick", "--smoke", timeout=600, check=True)
    last = res.stdout.strip().splitlines()[-1]
    fields = dict(pair.split("=", 1) for pair in last.split())
    assert {"speedup_vs_naive", "realtime_cameras", "alert_latency_p95_ms"} <= set(fields)
    assert float(fields["speedup_vs_naive"]) > 0 and int(fields["realtime_cameras"]) >= 0
    assert {"console_off_realtime", "console_on_realtime", "console_on_latency_p95_ms"} <= set(fields)
    served = re.search(r"console on: .*, (\d+) console requests", res.stdout)
    assert served and int(served.group(1)) > 0, "the desk client read the console during the load"


def test_bench_cuda_runs_on_a_gpu_and_says_so_without_one() -> None:
    res = run_cli("bench", "--cuda", timeout=600)
    if res.returncode == 2:  # no GPU on this box: a clear word, nothing written
        assert "no CUDA device" in res.stderr
        return
    assert res.returncode == 0, res.stderr
    fields = dict(pair.split("=", 1) for pair in res.stdout.strip().splitlines()[-1].split())
    found, of = map(int, fields["faces_agree"].split("/"))
    assert of > 0 and found >= 0.9 * of
    assert fields["scan_same_violations"] == "True"
