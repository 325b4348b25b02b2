"""The research probe still runs from a clean checkout (outside the default test run:
``python -m pytest research``)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_probe_packs_the_splits_and_trains_a_variant_on_them(tmp_path: Path) -> None:
    """The torch probe behind MASK_MODEL.md's *What limits incorrect_mask* runs from a clean checkout."""
    data, out = tmp_path / "data.npz", tmp_path / "runs.jsonl"

    def probe(*args: str) -> subprocess.CompletedProcess[str]:
        cmd = [sys.executable, "-m", "research.mask_probe.probe", *args]
        return subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True, timeout=600, check=True)

    probe("pack", "--limit", "12", "--out", str(data))
    probe("run", "--plan", "data", "--only", "wide64_scenes_only", "--seeds", "0", "--epochs", "1",
          "--data", str(data), "--out", str(out))  # fmt: skip
    (run,) = [json.loads(line) for line in out.read_text().splitlines()]
    assert run["variant"]["only"] == ["masks-det"] and run["n_train"] == 24  # 12 of train, 12 of val
    scenes = run["test"]["masks-det"]
    assert scenes["incorrect_n"] == 4 and len(run["scene_incorrect_p"]) == 4  # round robin over 3 labels
    assert 0.0 <= scenes["balanced_accuracy"] <= 1.0 and set(run["small_faces"]) == {"24", "32", "48"}
