"""The shipped models through the commands users run: classify, detect, train."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from core.boxes import iou
from models.mask.data import LABELS, PAINTED, pair_number, split_samples
from models.shared_data import REPO_ROOT, read_image, shared_dir
from tests.conftest import run_cli

CLASSIFY_FLOOR = 0.95  # shipped classifier on a fixed sample of held-out test images
DETECT_RECALL_FLOOR = 0.6  # shipped detector, faces >= 24 px, score >= 0.3, on fixed val scenes


def _fixed_sample(dataset: str, per_label: int) -> list[tuple[Path, str]]:
    out: list[tuple[Path, str]] = []
    counts: dict[int, int] = {}
    for s in split_samples(dataset)["test"]:
        if s.box is None and counts.get(s.label, 0) < per_label:
            counts[s.label] = counts.get(s.label, 0) + 1
            out.append((s.image, LABELS[s.label]))
    return out


def test_classify_json_contract_and_accuracy_floor() -> None:
    sample = _fixed_sample("masks-cls", 40) + _fixed_sample("masks-cls-synthetic", 20)
    res = run_cli("classify", "--json", *[str(p) for p, _ in sample], check=True)
    lines = [json.loads(line) for line in res.stdout.splitlines()]
    assert [line["image"] for line in lines] == [str(p) for p, _ in sample]
    for line in lines:
        assert set(line) == {"image", "label", "score"}
        assert line["label"] in LABELS and 0.0 <= line["score"] <= 1.0
        # bare only at half the probability or more: the daemon's label threshold would not count it otherwise
        assert line["label"] != "without_mask" or line["score"] >= 0.5
    truth = {str(p): lbl for p, lbl in sample}
    accuracy = sum(line["label"] == truth[line["image"]] for line in lines) / len(lines)
    assert accuracy >= CLASSIFY_FLOOR, f"accuracy {accuracy:.3f} below the floor {CLASSIFY_FLOOR}"


def test_a_face_is_called_bare_only_when_that_is_more_likely_than_not() -> None:
    """The two kinds of mask together outweigh a plurality for without_mask: such a face is masked."""
    from workers.classifier import LABELS_BY_CLASSES, decide

    three, two = LABELS_BY_CLASSES[3], LABELS_BY_CLASSES[2]
    probs = np.array(
        [
            [0.10, 0.60, 0.30],  # bare, well over half
            [0.25, 0.45, 0.30],  # likeliest bare, but masked in either way at 0.55: worn wrong, the likelier
            [0.35, 0.40, 0.25],  # likeliest bare, masked at 0.60: with_mask, the likelier
            [0.20, 0.50, 0.30],  # exactly even: bare, as the daemon's threshold (>= 0.5) counts it
            [0.70, 0.20, 0.10],  # masked: never touched
            [0.05, 0.15, 0.80],  # worn wrong: never touched
        ]
    )
    assert [three[i] for i in decide(probs)] == [
        "without_mask", "incorrect_mask", "with_mask", "without_mask", "with_mask", "incorrect_mask",
    ]  # fmt: skip
    binary = np.array([[0.45, 0.55], [0.55, 0.45]])  # two labels: the likeliest is the majority
    assert [two[i] for i in decide(binary)] == ["without_mask", "with_mask"]
    # a higher bar: bare only at 0.7 or more, whatever the number of labels
    assert [three[i] for i in decide(probs, bare_at=0.7)][:2] == ["incorrect_mask", "incorrect_mask"]
    assert [two[i] for i in decide(binary, bare_at=0.6)] == ["with_mask", "with_mask"]
    sure = np.array([[0.1, 0.8, 0.1], [0.3, 0.7, 0.0], [0.31, 0.69, 0.0]])  # over, at and just under the bar
    assert [three[i] for i in decide(sure, bare_at=0.7)] == ["without_mask", "without_mask", "with_mask"]
    with pytest.raises(ValueError, match="probability"):
        decide(probs, bare_at=1.5)


@pytest.mark.slow
def test_eval_masks_compares_ours_with_the_thesis_cnn_in_one_run() -> None:
    """Issue 2's table: ours >= 99 % on masks-cls test and above the thesis CNN on both test splits."""
    res = run_cli("eval", "masks", "--no-report", timeout=900, check=True)
    results = json.loads(res.stdout)
    for split, rows in results["sets"].items():
        ours, thesis = rows["maskwatch CNN"], rows["thesis CNN"]
        assert ours["accuracy"] > thesis["accuracy"], split
        assert {"KNN (k=5, gray 32 px)", "decision tree (gray 32 px)", "SVM (RBF, gray 32 px)"} < set(rows)
    assert results["sets"]["masks-cls test"]["maskwatch CNN"]["accuracy"] >= 0.99
    faces = {name: rows["maskwatch CNN"]["n"] for name, rows in results["sets"].items()}
    assert 0 < faces["masks-cls test, people not in training"] < faces["masks-cls test"]
    margins = results["crop_margins"]["maskwatch CNN"]
    assert set(margins) == {"0", "0.05", "0.15", "0.3"}
    assert all(m["incorrect_n"] == margins["0.15"]["incorrect_n"] > 0 for m in margins.values())
    assert results["speed"]["maskwatch CNN"]["ms_per_face_batch32"] > 0


def test_splits_keep_each_source_image_in_one_split() -> None:
    """A masked twin, its bare original and the lowered-mask face made from them share a split."""
    part_of: dict[int, str] = {}
    for dataset in ("masks-cls-synthetic", "masks-lowered"):
        for part, samples in split_samples(dataset).items():
            for s in samples:
                pair = pair_number(s)
                assert part_of.setdefault(pair, part) == part, f"pair {pair} in {part_of[pair]} and {part}"
    assert len(part_of) == 1000
    scenes: dict[str, str] = {}
    for part, samples in split_samples("masks-det").items():
        for s in samples:
            assert scenes.setdefault(s.image.name, part) == part


def test_splits_keep_copies_of_one_photo_or_scene_together() -> None:
    """The shared collections hold re-encoded and mirrored copies of one photo and frames of one scene
    under other names; no copy of a test or val face may sit in another split."""
    from models.mask.data import source_images
    from models.near_duplicates import keep_groups_together
    from models.splits import load_split, source_groups

    for dataset in ("masks-det", "masks-cls", "masks-cls-synthetic", "masks-worn"):
        split = load_split(dataset)
        groups = source_groups(dataset, source_images(dataset))
        assert dataset == "masks-worn" or groups, f"{dataset}: no copies found, so nothing was checked"
        assert keep_groups_together(split, groups) == split, f"{dataset}: a copy of one source in two splits"


def test_lowered_mask_uncovers_the_nose() -> None:
    import cv2
    import numpy as np

    from models.mask.lowered import lowered_mask, pasted_mask

    base = shared_dir() / "datasets" / "masks-cls-synthetic"
    masked = cv2.imread(str(base / "with_mask" / "with_mask_1.jpg"))
    bare = cv2.imread(str(base / "without_mask" / "without_mask_1.jpg"))
    assert masked is not None and bare is not None
    region = pasted_mask(masked, bare)
    assert region is not None and 0.1 < region.mean() < 0.7
    out = lowered_mask(masked, bare, np.random.default_rng(0))
    assert out is not None and out.shape == bare.shape
    top = np.flatnonzero(region.any(axis=1))[0]
    uncovered = region[top].astype(bool)
    assert np.array_equal(out[top][uncovered], bare[top][uncovered])  # the mask's old top edge shows the face
    assert np.abs(out.astype(int) - bare.astype(int)).max(axis=2).mean() > 10 * region.mean()  # mask still on


def test_classify_walks_folders_and_reports_unreadable(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    src = _fixed_sample("masks-cls", 1)[0][0]
    (tmp_path / "sub" / "face.jpg").write_bytes(src.read_bytes())
    (tmp_path / "broken.jpg").write_bytes(b"not an image")
    res = run_cli("classify", "--json", str(tmp_path))
    assert res.returncode == 1 and "cannot read" in res.stderr and "broken.jpg" in res.stderr
    out = [json.loads(line) for line in res.stdout.splitlines()]
    assert [o["image"] for o in out if "image" in o] == [str(tmp_path / "sub" / "face.jpg")]
    assert [o for o in out if "error" in o] == [
        {"file": str(tmp_path / "broken.jpg"), "error": "cannot read it as an image"}
    ]


def test_detect_json_finds_the_faces_of_fixed_scenes() -> None:
    from models.face.data import scene_split

    scenes = scene_split()["val"][:12]
    res = run_cli("detect", "--json", *[str(s.image) for s in scenes], check=True)
    found = {d["image"]: d["faces"] for d in map(json.loads, res.stdout.splitlines())}
    hit = total = 0
    for scene in scenes:
        faces = found[str(scene.image)]
        for f in faces:
            x1, y1, x2, y2 = f["box"]
            assert 0 <= x1 < x2 and 0 <= y1 < y2 and f["score"] >= 0.05
            assert f["label"] in LABELS and 0 <= f["label_score"] <= 1
        for b in scene.boxes:
            if b.x2 - b.x1 < 24:
                continue
            total += 1
            hit += any(f["score"] >= 0.3 and iou(tuple(f["box"]), (b.x1, b.y1, b.x2, b.y2)) >= 0.5 for f in faces)
    assert total > 0 and hit / total >= DETECT_RECALL_FLOOR, f"recall {hit}/{total}"


def test_detect_tiles_find_the_faces_at_the_back_of_a_wide_view(tmp_path: Path) -> None:
    """Six val scenes side by side (1200 x 800 px): whole, the letterbox shrinks faces below what
    the detector finds; in three windows across, most come back, each box once."""
    import cv2

    from models.face.data import scene_split
    from models.face.evaluate import wide_views

    scenes = scene_split()["val"][:12]
    views, truths = wide_views(
        [read_image(s.image) for s in scenes], [[(b.x1, b.y1, b.x2, b.y2) for b in s.boxes] for s in scenes]
    )
    paths = []
    for k, view in enumerate(views):
        paths.append(tmp_path / f"wide{k}.png")
        cv2.imwrite(str(paths[-1]), view)

    def recall(*flags: str) -> float:
        res = run_cli("detect", "--json", *flags, *map(str, paths), check=True)
        hit = total = 0
        for line, boxes in zip(res.stdout.splitlines(), truths):
            faces = [f for f in json.loads(line)["faces"] if f["score"] >= 0.35]
            for f in faces:  # one box per face: no two kept boxes are the same face
                assert all(iou(tuple(f["box"]), tuple(g["box"])) < 0.5 for g in faces if g is not f)
            for b in boxes:
                if b[2] - b[0] >= 24:
                    total += 1
                    hit += any(iou(tuple(f["box"]), b) >= 0.5 for f in faces)
        return hit / total

    whole, tiled = recall("--imgsz", "416"), recall("--imgsz", "416", "--tiles", "3")
    assert tiled >= whole + 0.15 and tiled >= DETECT_RECALL_FLOOR, (whole, tiled)


def test_tile_windows_cover_the_frame_with_overlap() -> None:
    from workers.tiling import from_window, merge, tile_windows

    assert tile_windows(640, 360, 1) == []
    assert tile_windows(1, 1, 3) == [] and tile_windows(388, 218, 3) == []  # under the detect size: none
    assert len(tile_windows(640, 360, 3)) == 3  # windows no narrower than half the detect size
    for w, h, n in ((1200, 800, 3), (1280, 720, 2), (720, 1280, 3), (1920, 1080, 4), (5000, 10, 3)):
        windows = tile_windows(w, h, n)
        covered = np.zeros((h, w), dtype=bool)
        for x0, y0, x1, y1 in windows:
            assert 0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h
            assert x1 - x0 >= 208 or y1 - y0 == h
            covered[y0:y1, x0:x1] = True
        assert covered.all() and len(set(windows)) == len(windows)
    # a box cut by a window's inner edge is dropped; one inside it moves to frame pixels; the
    # frame's own edge cuts nothing
    window = (480, 0, 1200, 800)
    kept = from_window(
        [((0.0, 10.0, 30.0, 40.0), 0.9), ((100.0, 10.0, 130.0, 40.0), 0.8), ((690.0, 10.0, 720.0, 40.0), 0.7)],
        window,
        1200,
        800,
    )
    assert kept == [((580.0, 10.0, 610.0, 40.0), 0.8), ((1170.0, 10.0, 1200.0, 40.0), 0.7)]
    whole: list[tuple[tuple[float, float, float, float], float]] = [
        ((10.0, 10.0, 50.0, 50.0), 0.6),
        ((100.0, 100.0, 400.0, 400.0), 0.6),
        ((260.0, 120.0, 310.0, 170.0), 0.5),
    ]
    windowed: list[tuple[tuple[float, float, float, float], float]] = [
        ((12.0, 11.0, 50.0, 52.0), 0.9),  # the same face as the whole frame's first box
        ((150.0, 150.0, 250.0, 250.0), 0.7),  # something small inside a big face: not that face
        ((80.0, 0.0, 90.0, 9.0), 0.4),
    ]
    merged = merge([whole, windowed])
    assert ((10.0, 10.0, 50.0, 50.0), 0.6) not in merged and ((12.0, 11.0, 50.0, 52.0), 0.9) in merged
    assert ((100.0, 100.0, 400.0, 400.0), 0.6) in merged and ((150.0, 150.0, 250.0, 250.0), 0.7) in merged
    assert ((260.0, 120.0, 310.0, 170.0), 0.5) in merged  # one pass's boxes are never merged with each other
    assert len(merged) == 5


def test_an_untiled_camera_detects_the_same_beside_a_tiled_one() -> None:
    """Cameras share detector batches: one camera's windows must not change another's faces."""
    from models.face.data import scene_split
    from workers.detector import FaceDetector

    det = FaceDetector(REPO_ROOT / "workers" / "weights" / "face_detector.onnx", imgsz=416, device="cpu")
    scene = read_image(scene_split()["val"][0].image)
    wide = np.concatenate([scene] * 3, axis=1)
    untiled = det.detect([scene, wide])  # frames of two shapes in one batch, as from two cameras
    beside = det.detect([scene, wide], tiles=[1, 3])
    assert len(beside) == 2 and len(beside[0]) == len(untiled[0]) > 0
    for (box, score), (box0, score0) in zip(beside[0], untiled[0]):
        assert np.allclose(box, box0, atol=0.5) and abs(score - score0) < 1e-3
    assert len(beside[1]) > len(untiled[1])  # the wide frame's windows find more
    with pytest.raises(ValueError, match="tile counts"):
        det.detect([scene], tiles=[1, 3])


def test_mirror_averaging_scores_a_face_both_passes_see_above_one_only_one_sees() -> None:
    from workers.mirror import average, unmirror

    assert unmirror([((10.0, 5.0, 30.0, 25.0), 0.9)], width=100) == [((70.0, 5.0, 90.0, 25.0), 0.9)]
    both = (10.0, 10.0, 50.0, 50.0)
    plain = [(both, 0.8), ((200.0, 10.0, 240.0, 50.0), 0.9)]  # the second: a pattern only this pass sees
    mirrored = [((12.0, 10.0, 52.0, 50.0), 0.4), ((400.0, 0.0, 420.0, 20.0), 0.3)]
    fused = sorted(average(plain, mirrored), key=lambda d: -d[1])
    assert [round(score, 3) for _, score in fused] == [0.6, 0.45, 0.15]
    box = fused[0][0]  # the pair's box leans towards the surer pass
    assert box == pytest.approx(((10 * 0.8 + 12 * 0.4) / 1.2, 10.0, (50 * 0.8 + 52 * 0.4) / 1.2, 50.0))
    # each mirrored box pairs once: a second plain box on the same face is one pass's only
    twice = average([(both, 0.8), ((11.0, 10.0, 51.0, 50.0), 0.7)], [(both, 0.6)])
    assert sorted(round(s, 3) for _, s in twice) == [0.35, 0.7]


def test_mirror_averaging_sees_a_mirrored_scene_as_the_mirror_of_the_scene() -> None:
    """Both passes of the image and of its mirror image are the same two networks' runs, so the
    faces of the mirrored scene are the scene's faces flipped, and both carry the same scores."""
    from models.face.data import scene_split
    from workers.detector import FaceDetector
    from workers.mirror import unmirror

    det = FaceDetector(REPO_ROOT / "workers" / "weights" / "face_detector.onnx", imgsz=416, device="cpu", mirror=True)
    scene = read_image(scene_split()["val"][0].image)
    faces, flipped = det.detect([scene, np.ascontiguousarray(scene[:, ::-1])])
    assert len(faces) == len(flipped) > 0
    back = sorted(unmirror(flipped, scene.shape[1]))
    for (box, score), (box0, score0) in zip(sorted(faces), back):
        assert np.allclose(box, box0, atol=1.0) and abs(score - score0) < 1e-3


def test_detector_on_a_gpu_without_onnxruntime_gpu_runs_its_torch_twin() -> None:
    import onnxruntime as ort

    from workers.detector import weights_for_device

    onnx = REPO_ROOT / "workers" / "weights" / "face_detector.onnx"
    assert weights_for_device(onnx, "cpu") == onnx
    serves_cuda = "CUDAExecutionProvider" in ort.get_available_providers()
    assert weights_for_device(onnx, "cuda:0") == (onnx if serves_cuda else onnx.with_suffix(".pt"))


def test_detect_reads_a_video_file() -> None:
    clip = shared_dir() / "videos" / "Gituatu_face-mask-detection_nomask.mp4"
    res = run_cli("detect", "--json", str(clip), check=True)
    frames = [json.loads(line) for line in res.stdout.splitlines()]
    assert len(frames) > 50 and frames[0]["image"] == f"{clip}#0"
    with_face = sum(any(f["score"] >= 0.3 for f in fr["faces"]) for fr in frames)
    assert with_face / len(frames) > 0.8


@pytest.mark.slow
@pytest.mark.parametrize("arch,stage2", [("thesis", False), ("maskwatch", False), ("maskwatch", True)])
def test_train_mask_one_epoch(arch: str, stage2: bool, tmp_path: Path) -> None:
    quick = ["--epochs", "1", "--limit", "12", "--out", str(tmp_path)]
    mask_dir = tmp_path / "mask"
    onnx = tmp_path / ("mask_thesis.onnx" if arch == "thesis" else "mask_classifier.onnx")
    if stage2:
        # the shipped recipe: stage 1, two fine-tunes of it, the soup of the two is shipped
        run_cli("train", "mask", "--name", "maskwatch_stage1", *quick, timeout=600, check=True)
        init = ["--init", str(mask_dir / "maskwatch_stage1.keras")]
        res = run_cli("train", "mask", *init, "--name", "maskwatch_finetune", *quick, timeout=600, check=True)
        assert "fine-tuning" in res.stdout
        lowres = ["--lowres", "0.5", "--with-val", "--name", "ft_lowres"]
        run_cli("train", "mask", *init, *lowres, *quick, timeout=600, check=True)
        ft_lowres = json.loads((mask_dir / "ft_lowres_metrics.json").read_text())
        assert ft_lowres["lowres"] == 0.5 and ft_lowres["val_in_training"]
        assert ft_lowres["train_images"] == 2 * ft_lowres["val_images"]  # --limit: as many per split
        assert not onnx.exists()  # fine-tunes are inputs to the soup, not shipped
        parts = [str(mask_dir / "maskwatch_finetune.keras"), str(mask_dir / "ft_lowres.keras")]
        res = run_cli("train", "mask", "--soup", *parts, "--out", str(tmp_path), timeout=600, check=True)
        metrics = json.loads((mask_dir / "maskwatch_metrics.json").read_text())
        assert metrics["soup"] == parts and metrics["input"] == 64 and 0.0 <= metrics["val_accuracy"] <= 1.0
        assert onnx.stat().st_size > 10_000 and (mask_dir / "maskwatch_confusion.png").exists()
        bad = run_cli("train", "mask", "--soup", parts[0], str(REPO_ROOT / "models" / "mask" / "thesis.keras"))
        assert bad.returncode != 0 and "differ in shape" in bad.stderr
        bad = run_cli("train", "mask", "--arch", "thesis", "--with-val", *quick)
        assert bad.returncode == 2 and "--with-val is for ours" in bad.stderr
        bad = run_cli("train", "mask", "--painted-wrong", "0.5", *quick)
        assert bad.returncode == 2 and "add --painted" in bad.stderr
        return
    levers = [] if arch == "thesis" else ["--painted", "--painted-wrong", "0.5", "--hue", "0.5", "--lowres", "0.4"]
    res = run_cli("train", "mask", "--arch", arch, *levers, *quick, timeout=600, check=True)
    metrics = json.loads((mask_dir / f"{arch}_metrics.json").read_text())
    assert metrics["epochs"] == 1
    if arch == "thesis":
        assert metrics["params"] == 363906 and "363,906" in res.stdout
    else:
        assert metrics["input"] == 64 and metrics["layout"] == "wide"
        assert metrics["painted"] and metrics["painted_wrong"] == 0.5 and metrics["hue"] == 0.5
        assert metrics["val_images"] <= 12 * 5 < metrics["train_images"]  # painted faces train, real ones validate
        assert "fine-tuning" not in res.stdout
    assert onnx.stat().st_size > 10_000
    assert (mask_dir / f"{arch}_curves.png").exists() and (mask_dir / f"{arch}_confusion.png").exists()


@pytest.mark.slow
def test_train_face_one_epoch_without_downloads(tmp_path: Path) -> None:
    before = (REPO_ROOT / "workers" / "weights" / "face_detector.pt").read_bytes()
    res = run_cli(
        "train",
        "face",
        "--epochs",
        "1",
        "--limit",
        "6",
        "--no-ship",
        "--name",
        "ci",
        "--from-scratch",
        env={"YOLO_CONFIG_DIR": str(tmp_path)},
        timeout=600,
        check=True,
    )
    out = res.stdout + res.stderr
    # no weights, fonts or AMP-check models fetched (the settings notice's help link is not a fetch)
    assert not re.search(r"Downloading|Download failure|Arial\.ttf|yolo\w*\.pt", out), out[-3000:]
    assert (REPO_ROOT / "workers" / "weights" / "face_detector.pt").read_bytes() == before
    record = json.loads(out[out.index("{\n") :].split("\n}\n")[0] + "\n}")
    assert record["epochs"] == 1 and record["train_images"] == 6


def test_painted_masks_cover_the_nose_when_worn_right_and_uncover_it_when_not() -> None:
    """Issue 24: template masks painted by landmarks sit over the nose and mouth, or below the nose."""
    import cv2
    import numpy as np

    from models.mask.painted import WORK_PX, face_anchors, face_landmarks, mask_templates, paint_mask

    assert {t.family for t in mask_templates()} >= {"surgical", "cloth", "N95", "KN95", "gas"}
    bare = [s.image for s in split_samples("masks-cls-synthetic")["test"] if s.label == LABELS.index("without_mask")]
    covered = uncovered = tried = 0
    for seed, path in enumerate(bare[:12]):
        face = cv2.resize(read_image(path), (WORK_PX, WORK_PX))
        lm = face_landmarks(face)
        if lm is None:
            continue
        tried += 1
        worn, _ = face_anchors(lm, lowered=None)
        pulled, _ = face_anchors(lm, lowered=0.5)
        assert pulled[1][1] > lm[2][1] > worn[1][1]  # the top edge: on the bridge, or below the nose tip
        nose, mouth = lm[2], lm[3:].mean(0)

        def changed(img: np.ndarray, at: np.ndarray, bare_face: np.ndarray = face) -> float:
            x, y = int(at[0]), int(at[1])
            patch = (slice(max(y - 3, 0), y + 4), slice(max(x - 3, 0), x + 4))
            return float(np.abs(img[patch].astype(int) - bare_face[patch].astype(int)).mean())

        right = paint_mask(face, np.random.default_rng(seed), lowered=False)
        wrong = paint_mask(face, np.random.default_rng(seed), lowered=True)
        assert right is not None and wrong is not None and right.shape == face.shape
        for eye in lm[:2]:  # the eyes stay bare
            assert changed(right, eye) < 4.0 and changed(wrong, eye) < 4.0
        covered += changed(right, (nose + mouth) / 2) > 8.0
        chin = mouth + (mouth - nose) * 0.8
        uncovered += changed(wrong, nose - (mouth - nose) * 0.3) < 2.0 and changed(wrong, chin) > 8.0
    assert tried >= 8
    assert covered >= tried - 1 and uncovered >= tried - 2, (covered, uncovered, tried)


def test_painted_wrong_keeps_that_share_of_faces_worn_wrong_and_every_other_face() -> None:
    from models.mask.data import LABEL_INDEX, thin_painted_wrong

    y = np.array(
        [LABEL_INDEX["incorrect_mask"]] * 3000 + [LABEL_INDEX["with_mask"]] * 500 + [LABEL_INDEX["without_mask"]] * 500
    )
    x = np.arange(len(y))  # stands in for the images: which faces are kept
    for share in (0.0, 1 / 3, 1.0):
        kept_x, kept_y = thin_painted_wrong(x, y, share)
        wrong = int((kept_y == LABEL_INDEX["incorrect_mask"]).sum())
        assert abs(wrong - share * 3000) < 100 and len(kept_y) - wrong == 1000
        assert np.array_equal(kept_y, y[kept_x])  # faces keep their labels
    first, again = thin_painted_wrong(x, y, 0.5)[0], thin_painted_wrong(x, y, 0.5)[0]
    assert np.array_equal(first, again)  # the same faces every run, so a fold and a full training agree


def test_cross_collection_folds_keep_each_collection_out_of_its_own_training(monkeypatch: pytest.MonkeyPatch) -> None:
    """A collection held out leaves training with everything made from it (lowered, painted faces),
    and is tested whole: every split, every face."""
    import numpy as np

    from models.mask import crossval
    from models.mask.data import COLLECTION_OF, COLLECTIONS

    loaded: list[tuple[str, str]] = []

    def fake_arrays(dataset: str, part: str, size: int, limit: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        loaded.append((dataset, part))
        return np.zeros((2, size, size, 3), np.uint8), np.array([0, 2])

    monkeypatch.setattr(crossval, "load_arrays", fake_arrays)
    monkeypatch.setattr(crossval, "crop_widths", lambda dataset, part, limit=None: np.array([30, 80]))
    for recipe in crossval.RECIPES:
        for held_out in COLLECTIONS:
            loaded.clear()
            (x, y), (test_x, test_y, widths) = crossval.fold_data(recipe, held_out, None)
            tested = [(d, p) for d, p in loaded if d == held_out][-3:]
            trained = loaded[: len(loaded) - 3]
            assert sorted(tested) == sorted((held_out, p) for p in ("train", "val", "test"))
            assert trained and all(COLLECTION_OF.get(d, d) != held_out for d, _ in trained), (recipe.name, held_out)
            expected = {d for d in recipe.datasets if COLLECTION_OF.get(d, d) != held_out}
            assert {d for d, _ in trained} == expected
            assert len(test_y) == len(widths) == 6
            if recipe.arch == "thesis":  # two classes: the incorrect_mask faces leave its training
                assert set(y.tolist()) == {0} and x.shape[1] == 128
            elif recipe.painted_wrong < 1.0:  # each fake painted split's face worn wrong is left out here
                assert len(y) == 2 * len(trained) - sum(d in PAINTED for d, _ in trained)
    assert "masks-lowered" in crossval.RECIPES[1].datasets and "painted-masks-det" in crossval.RECIPES[2].datasets


def test_a_recorded_fold_from_before_a_new_recipe_field_still_counts() -> None:
    """Adding a field whose default keeps the old behaviour must not retrain 90 minutes of folds."""
    from dataclasses import asdict

    from models.mask.crossval import RECIPES, _same_recipe

    shipped = RECIPES[1]
    recorded = {k: v for k, v in asdict(shipped).items() if k != "flip"}
    assert _same_recipe(recorded, shipped)
    assert not _same_recipe({**recorded, "augment": 0.3}, shipped)
    assert not _same_recipe({**recorded, "flip": True}, shipped) and not _same_recipe(None, shipped)


def test_a_test_time_rule_reuses_its_twins_networks_and_changes_only_its_labels() -> None:
    from dataclasses import asdict, replace

    from models.mask.crossval import RECIPES, _network_path, _same_recipe, labels_of

    shipped = RECIPES[1]
    majority = replace(shipped, name="x, bare only by majority", bare_by_majority=True)
    assert _network_path(majority, "masks-cls", 0, None, 6) == _network_path(shipped, "masks-cls", 0, None, 6)
    assert _network_path(replace(shipped, augment=0.3), "masks-cls", 0, None, 6) != _network_path(
        shipped, "masks-cls", 0, None, 6
    )
    assert not _same_recipe({**asdict(shipped), "bare_by_majority": True}, shipped)
    p = np.array([[0.35, 0.40, 0.25], [0.10, 0.80, 0.10]])
    assert labels_of(p, False).tolist() == [1, 1] and labels_of(p, True).tolist() == [0, 1]


def test_cross_collection_report_replaces_only_its_own_section(tmp_path: Path) -> None:
    from models.mask.crossval import MARKER, _write_report

    fold = {
        "n": 4, "accuracy": 0.75, "three_classes": False, "masked_recall": 0.5, "unmasked_recall": 1.0,
        "masked_n": 2, "unmasked_n": 2, "train_n": 10, "minutes": 0.1, "epochs": 1,
        "by_width": {"< 40 px": {"n": 4, "accuracy": 0.75}, "40-63 px": {"n": 0, "accuracy": None},
                     ">= 64 px": {"n": 0, "accuracy": None}},
    }  # fmt: skip
    folds = {c: fold for c in ("masks-cls", "masks-cls-synthetic", "masks-worn", "masks-det")}
    mean = {"accuracy": 0.75, "accuracy_without_masks_worn": 0.75, "masked_recall": 0.5, "unmasked_recall": 1.0,
            "< 40 px": 0.75, "40-63 px": None, ">= 64 px": None}  # fmt: skip
    low: dict[str, float | None] = {"accuracy": 0.75, "masked_recall": 0.5, "unmasked_recall": 1.0, "< 40 px": 0.75}
    high: dict[str, float | None] = {"accuracy": 0.5, "masked_recall": 1.0, "unmasked_recall": 0.0, "< 40 px": 0.5}
    bars = {c: {"0.50": low, "0.90": high} for c in folds}  # each fold its own figures at 0.90:
    bars["masks-cls"] = {
        "0.50": low,
        "0.90": {"accuracy": 0.9, "masked_recall": 0.9, "unmasked_recall": 0.9, "< 40 px": 0.9},
    }
    bars["masks-worn"] = {
        bar: {**at, "unmasked_recall": None} for bar, at in bars["masks-worn"].items()
    }  # no bare face
    paired = {c: {**fold, "argmax": {"accuracy": 0.5, "masked_recall": 0.25, "unmasked_recall": 1.0},
                  "relabelled": 1, "by_bare_bar": bars[c]} for c in folds}  # fmt: skip
    results = {
        "seed": 0,
        "limit": None,
        "recipes": {
            "r1": {"folds": folds, "mean": mean, "epochs": 6},
            "r1, bare only by majority": {"folds": paired, "mean": mean, "epochs": 6},
        },
    }
    report = tmp_path / "MASK_MODEL.md"
    report.write_text(f"# head\nprose\n\n{MARKER}\nold table\n\n<!-- comparison -->\n## Comparison\nkept\n")
    _write_report(results, report)
    _write_report(results, report)  # twice: one section, not two
    text = report.read_text()
    assert text.startswith("# head\nprose\n") and "old table" not in text and text.count(MARKER) == 1
    assert text.index(MARKER) < text.index("<!-- comparison -->\n## Comparison\nkept")
    assert "| r1 | 6 | 75.0 | 75.0 | 50.0 | 100.0 | 75.0 | - | - |" in text
    paired_row = "| r1, bare only by majority | 50.0 -> 75.0 | 50.0 -> 75.0, 25.0 -> 50.0, 100.0 -> 100.0, 1 of 4 |"
    assert paired_row in text and text.count("| r1 |") == 5  # the mean row and one per fold; r1 is unpaired
    # means over the folds (unmasked and balanced over the three with bare faces), < 40 px pooled, two folds
    assert (
        "| r1, bare only by majority | 0.50 | 75.0 | 75.0 | 50.0 | 100.0 | 75.0 | 50.0, 100.0 | 50.0, 100.0 |" in text
    )
    assert "| r1, bare only by majority | 0.90 | 60.0 | 63.3 | 97.5 | 30.0 | 60.0 | 90.0, 90.0 | 100.0, 0.0 |" in text


def test_eval_flags_that_do_not_apply_are_errors() -> None:
    for args, says in (
        (("eval", "masks", "--epochs", "2"), "--epochs go with --cross-collection"),
        (("eval", "masks", "--limit", "2"), "--limit go with --cross-collection"),
        (("eval", "faces", "--cross-collection"), "--cross-collection is for masks"),
    ):
        res = run_cli(*args)
        assert res.returncode == 2 and says in res.stderr, res.stderr


@pytest.mark.slow
def test_eval_masks_cross_collection_one_run(tmp_path: Path) -> None:
    """Issue 24's table in one run (quick form: one epoch, a dozen faces per split), the thesis CNN
    and the shipped recipe as its first two rows, four folds each, resumed from what is recorded."""
    quick = ["--limit", "12", "--epochs", "1", "--no-report", "--results", str(tmp_path)]
    run_cli("eval", "masks", "--cross-collection", *quick, timeout=900, check=True)
    table = json.loads((tmp_path / "table.e1.l12.json").read_text())["recipes"]  # a quick run's own table
    names = list(table)
    assert names[0].startswith("thesis CNN") and names[1].startswith("shipped recipe") and len(names) >= 3
    for row in table.values():
        assert set(row["folds"]) == {"masks-cls", "masks-cls-synthetic", "masks-worn", "masks-det"}
        for held_out, fold in row["folds"].items():
            assert fold["n"] > 0 and 0.0 <= fold["accuracy"] <= 1.0 and fold["epochs"] == 1
            assert fold["three_classes"] == (held_out in ("masks-worn", "masks-det")), held_out
            assert sum(b["n"] for b in fold["by_width"].values()) == fold["n"]
        assert row["folds"]["masks-cls"]["unmasked_recall"] is not None
        assert row["folds"]["masks-worn"]["unmasked_recall"] is None  # MaskedFace-Net has no bare faces
        assert 0.0 <= row["mean"]["masked_recall"] <= 1.0
    mirror = next(name for name in names if "mirror averaged" in name)
    assert all(fold["reused"] for fold in table[mirror]["folds"].values())  # its twin's networks, tested mirrored
    assert not any(fold["reused"] for fold in table[names[1]]["folds"].values())
    majority = [name for name in names if name.endswith("bare only by majority")]
    assert majority and all(fold["reused"] for name in majority for fold in table[name]["folds"].values())
    assert all(set(fold["argmax"]) == {"accuracy", "masked_recall", "unmasked_recall"}
               for name in majority for fold in table[name]["folds"].values())  # fmt: skip
    for fold in table[majority[0]]["folds"].values():  # each bar on p(without_mask), on the same network
        curve = fold["by_bare_bar"]
        assert list(curve) == ["0.50", "0.60", "0.70", "0.80", "0.90"]
        assert curve["0.50"]["accuracy"] == fold["accuracy"]  # the lowest bar is the majority rule itself
        masked = [c["masked_recall"] for c in curve.values()]
        assert masked[0] is None or masked == sorted(masked)  # a higher bar calls fewer faces bare
        unmasked = [c["unmasked_recall"] for c in curve.values()]
        assert unmasked[0] is None or unmasked == sorted(unmasked, reverse=True)  # and finds fewer of the bare
    painted, shipped = table[names[2]]["folds"], table[names[1]]["folds"]
    assert all(painted[c]["train_n"] > shipped[c]["train_n"] for c in painted)  # the painted faces are added
    scene = table[names[1]]["folds"]["masks-det"]["incorrect_mask"]
    assert scene["n"] > 0 and scene["recall_ci"] is not None
    from models.mask.compare import wilson

    low, high = wilson(0, 13) or (1.0, 0.0)  # Wilson's closed form for 0 of 13: [0, z^2 / (n + z^2)]
    assert low == 0.0 and abs(high - 1.959964**2 / (13 + 1.959964**2)) < 1e-6
    before = {p.name: p.stat().st_mtime_ns for p in tmp_path.glob("*.s0.l12.json")}
    assert len(before) == 4 * len(names)
    run_cli("eval", "masks", "--cross-collection", *quick, timeout=300, check=True)  # resumes: trains nothing
    assert {p.name: p.stat().st_mtime_ns for p in tmp_path.glob("*.s0.l12.json")} == before


def test_operating_points_compare_recall_at_equal_false_positives() -> None:
    """Issue 25: our recall >= 24 px at the daemon's threshold and at each teacher's false positives."""
    from models.face.evaluate import SHIPPED_THRESHOLD, evaluate_detections, operating_points

    big, small = (0.0, 0.0, 40.0, 40.0), (100.0, 100.0, 110.0, 110.0)
    truths = [[big, small]] * 4
    miss = (300.0, 300.0, 340.0, 340.0)
    ours = [[(big, 0.9), (small, 0.3), (miss, 0.6), (miss, 0.2)]] * 4  # 4 FPs at 0.35, 8 at any score
    teacher = [[(big, 0.8), (miss, 0.55)]] * 2 + [[(miss, 0.1)]] * 2  # 2 FPs at 0.5, recall >= 24 px 0.5
    results = [
        evaluate_detections(ours, truths, "maskwatch test", 1.0),
        evaluate_detections(teacher, truths, "teacher", 1.0),
    ]
    assert results[0].at(SHIPPED_THRESHOLD) == (1.0, 4)
    points = {p["against"]: p for p in operating_points(results)}
    at_teacher = points["teacher at 0.5"]
    assert at_teacher["false_positives"] <= 2 and at_teacher["threshold"] > 0.6
    assert at_teacher["recall_big"] == 1.0 and at_teacher["teacher_recall_big"] == 0.5
    assert points["shipped threshold"]["threshold"] == SHIPPED_THRESHOLD


@pytest.mark.slow
def test_eval_faces_prints_the_operating_points() -> None:
    res = run_cli("eval", "faces", "--no-report", "--limit", "6", timeout=600, check=True)
    from models.face.evaluate import SHIPPED_THRESHOLD

    shipped = re.escape(f"{SHIPPED_THRESHOLD:.3f}")
    assert re.search(rf"maskwatch face_detector\.onnx @416 +at shipped threshold +threshold {shipped}", res.stdout)
    for teacher in ("yunet", "yunet-x2", "retinaface-mnet025"):
        assert re.search(rf"@416 +at {re.escape(teacher)} at 0\.5 +threshold [01]\.\d+ recall>=24px", res.stdout)
