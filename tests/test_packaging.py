"""The wheel as a site installs it: outside the checkout, with its weights as package data."""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import NO_MASK_CLIPS, REPO_ROOT, VIDEOS, run_cli

CLIP = VIDEOS / NO_MASK_CLIPS[1]


def _violations(stdout: str) -> list[tuple[str, str, int]]:
    rows = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
    return [(r["camera"], r["label"], r["track_id"]) for r in rows]


@pytest.mark.slow
def test_the_wheel_runs_outside_the_checkout_with_its_packaged_weights(tmp_path: Path) -> None:
    wheels, source = tmp_path / "wheels", tmp_path / "source"
    # built from a copy, so that setuptools' build/ never lands in (or is reused from) the checkout
    junk = (".git", ".venv", "build", "*.egg-info", "__pycache__", ".cache", "var", "research", "docs", "bench")
    shutil.copytree(REPO_ROOT, source, ignore=shutil.ignore_patterns(*junk))
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(wheels), "."],
        cwd=source,
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = wheels.glob("maskwatch-*.whl")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    # the third-party packages of the dev environment, not its (editable) maskwatch: a path
    # line in a .pth file adds the folder, but the .pth files inside it are not read
    (venv / "lib" / "python3.11" / "site-packages" / "deps.pth").write_text(site.getsitepackages()[0] + "\n")
    subprocess.run(
        [str(venv / "bin" / "pip"), "install", "-q", "--no-deps", "--no-index", str(wheel)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    site_root = venv / "lib" / "python3.11" / "site-packages"
    shipped = {p.name for p in (site_root / "workers" / "weights").iterdir()}
    assert {"face_detector.onnx", "mask_classifier.onnx"} <= shipped
    assert not (site_root / "models").exists() and not (site_root / "bench").exists(), "training stays in the repo"
    away = tmp_path / "site"
    away.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    camera_only = away / "maskwatch.yaml"
    camera_only.write_text(f"cameras:\n  - name: door\n    url: {CLIP}\n")
    check = subprocess.run(
        [str(venv / "bin" / "maskwatch"), "config", "check", str(camera_only)],
        cwd=away, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert check.returncode == 0, check.stderr
    installed = subprocess.run(
        [str(venv / "bin" / "maskwatch"), "scan", "--json", str(CLIP)],
        cwd=away, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr[-3000:]
    from_checkout = run_cli("scan", "--json", str(CLIP), check=True)
    assert _violations(installed.stdout) == _violations(from_checkout.stdout) != []
    run = subprocess.run(
        [str(venv / "bin" / "maskwatch"), "run", "--config", str(camera_only)],
        cwd=away, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]  # the file camera ended: the daemon stops by itself
    listed = subprocess.run(
        [str(venv / "bin" / "maskwatch"), "violations", "--config", str(camera_only), "--format", "json"],
        cwd=away, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert [v["camera"] for v in json.loads(listed.stdout)] == ["door"], listed.stderr
    training = subprocess.run(
        [str(venv / "bin" / "maskwatch"), "train", "mask"],
        cwd=away, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert training.returncode == 2 and "runs from a checkout" in training.stderr
    assert training.stderr.count("\n") == 1 and "Traceback" not in training.stderr


def test_the_tested_versions_pin_every_requirement_within_what_pyproject_allows() -> None:
    """deploy/install.sh installs under deploy/constraints.txt, so that a new release on the
    index cannot change what CI or a site runs; a bump in pyproject.toml that the pins no
    longer satisfy would make pip fall back to untested versions, so it fails here first."""
    import tomllib

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    declared = [Requirement(r) for r in project["dependencies"]]
    declared += [Requirement(r) for extra in project["optional-dependencies"].values() for r in extra]
    pins: dict[str, str] = {}
    for line in (REPO_ROOT / "deploy" / "constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, version = line.split("==")
            pins[canonicalize_name(name)] = version
    for requirement in declared:
        pinned = pins.get(canonicalize_name(requirement.name))
        assert pinned is not None, f"{requirement.name} is not pinned in deploy/constraints.txt"
        assert requirement.specifier.contains(pinned, prereleases=True), f"{requirement} vs {pinned}"
