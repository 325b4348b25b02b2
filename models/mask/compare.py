"""``maskwatch eval masks``: the comparison table of ``models/MASK_MODEL.md``, in one run.

Thesis CNN, our CNN (both through ONNX Runtime, as shipped) and the thesis's classical
baselines (KNN, decision tree, SVM on grayscale pixels, scikit-learn, trained like the
thesis on 85 % of masks-cls), on (a) the masks-cls test split, also without the photos of
people named in training, and (b) the real-scene crops of the masks-det test split, cut
with the daemon's crop policy; also the synthetic incorrect_mask test faces (masks-worn,
lowered masks), to tell a class not learnt from one learnt but not carried to real faces.
"""

from __future__ import annotations

import json
import time
from typing import Any

import cv2
import numpy as np
from sklearn.metrics import accuracy_score, balanced_accuracy_score, precision_recall_fscore_support
from sklearn.neighbors import KNeighborsClassifier
from sklearn.svm import SVC
from sklearn.tree import DecisionTreeClassifier

from models.mask.data import LABEL_INDEX, LABELS, load_arrays, people_not_in_training
from models.shared_data import REPO_ROOT
from workers.classifier import decide

REPORT = REPO_ROOT / "models" / "MASK_MODEL.md"
RESULTS = REPO_ROOT / "models" / "mask" / "comparison.json"
GRAY_PX = 32
SMALL_FACES_PX = (24, 32, 48)
"""Shrunk sizes of the masks-cls test faces: camera faces are often this small."""
CROP_MARGINS = (0.0, 0.05, 0.15, 0.30)
"""Real-scene test faces also cut with other margins than the daemon's 15 %: another
collection's crops may be tight boxes or loose head-and-shoulders."""
ONNX_MODELS = {
    "thesis CNN": "workers/weights/mask_thesis.onnx",
    "maskwatch CNN": "workers/weights/mask_classifier.onnx",
}


def _gray(x: np.ndarray) -> np.ndarray:
    return (
        np.stack(
            [
                cv2.resize(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY), (GRAY_PX, GRAY_PX), interpolation=cv2.INTER_AREA)
                for img in x
            ]
        ).reshape(len(x), -1)
        / 255.0
    )


def classification_metrics(truth: np.ndarray, pred: np.ndarray) -> dict[str, Any]:
    """Accuracy, balanced accuracy, per-class P / R / F1 and with/without-only accuracy."""
    present = sorted(set(truth.tolist()))
    p, r, f, n = precision_recall_fscore_support(truth, pred, labels=present, zero_division=0)
    out: dict[str, Any] = {
        "accuracy": float(accuracy_score(truth, pred)),
        "balanced_accuracy": float(balanced_accuracy_score(truth, pred)),
        "n": int(len(truth)),
    }
    for i, c in enumerate(present):
        out[LABELS[c]] = {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "n": int(n[i])}
    binary = truth < 2
    out["binary_accuracy"] = float(accuracy_score(truth[binary], pred[binary])) if binary.any() else None
    return out


def wilson(successes: int, n: int) -> tuple[float, float] | None:
    """95 % Wilson score interval of a proportion (scipy's), or None for no trials."""
    if n == 0:
        return None
    from scipy.stats import binomtest

    ci = binomtest(successes, n).proportion_ci(0.95, method="wilson")
    return float(ci.low), float(ci.high)


def incorrect_mask_figures(truth: np.ndarray, pred: np.ndarray) -> dict[str, Any]:
    """incorrect_mask recall and precision with 95 % Wilson intervals: a few dozen faces carry
    a figure only as far as its interval."""
    incorrect = LABEL_INDEX["incorrect_mask"]
    called, real = pred == incorrect, truth == incorrect
    hits = int((called & real).sum())
    return {
        "n": int(real.sum()),
        "recall": hits / int(real.sum()) if real.any() else None,
        "recall_ci": wilson(hits, int(real.sum())),
        "precision": hits / int(called.sum()) if called.any() else None,
        "precision_ci": wilson(hits, int(called.sum())),
    }


def _shipped_classifiers() -> dict[str, Any]:
    """The ONNX models that exist, each loaded once for the whole comparison."""
    from workers.classifier import MaskClassifier

    return {name: MaskClassifier(REPO_ROOT / path) for name, path in ONNX_MODELS.items() if (REPO_ROOT / path).exists()}


def _onnx_predict(clf: Any, x: np.ndarray) -> np.ndarray:
    crops = list(x)  # RGB uint8 at any size: the runtime resizes as the daemon does
    probs = np.concatenate([clf.probabilities(crops[i : i + 64], bgr=False) for i in range(0, len(crops), 64)])
    return decide(probs)  # the daemon's decision, as `classify` prints it


def _onnx_ms_per_face(clf: Any, x: np.ndarray) -> dict[str, float]:
    """ms per face at batch 1 and 32, best of five rounds: the machine is shared and noisy."""
    timing = {}
    for batch in (1, 32):
        sample = list(x[:batch])
        clf.probabilities(sample, bgr=False)
        reps = max(3, 96 // batch)
        rounds = []
        for _ in range(5):
            started = time.perf_counter()
            for _ in range(reps):
                clf.probabilities(sample, bgr=False)
            rounds.append((time.perf_counter() - started) * 1000 / (reps * batch))
        timing[f"ms_per_face_batch{batch}"] = min(rounds)
    return timing


def _small_faces(classifiers: dict[str, Any], x: np.ndarray, y: np.ndarray) -> dict[str, dict[str, float]]:
    """Accuracy on the faces shrunk to N px first (then the runtime scales them up as the daemon does)."""
    shrunk = {
        px: np.stack([cv2.resize(img, (px, px), interpolation=cv2.INTER_AREA) for img in x]) for px in SMALL_FACES_PX
    }
    return {
        name: {str(px): float((_onnx_predict(clf, small) == y).mean()) for px, small in shrunk.items()}
        for name, clf in classifiers.items()
    }


def _crop_margins(classifiers: dict[str, Any], size: int) -> dict[str, dict[str, dict[str, Any]]]:
    """Per model and margin: accuracy, with/without accuracy, incorrect_mask right of all."""
    out: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in classifiers}
    for margin in CROP_MARGINS:
        x, y = load_arrays("masks-det", "test", size, margin=margin)
        incorrect = y == LABEL_INDEX["incorrect_mask"]
        for name, clf in classifiers.items():
            m = classification_metrics(y, pred := _onnx_predict(clf, x))
            out[name][f"{margin:g}"] = {
                "accuracy": m["accuracy"],
                "binary_accuracy": m["binary_accuracy"],
                "incorrect_right": int((pred[incorrect] == y[incorrect]).sum()),
                "incorrect_n": int(incorrect.sum()),
            }
    return out


def compare_masks(write_report: bool = True) -> dict[str, Any]:
    size = 128  # arrays at the larger input; each runtime resizes to its own
    faces_x, faces_y = load_arrays("masks-cls", "test", size)
    unseen = people_not_in_training("masks-cls", "test")
    if len(unseen) != len(faces_y):
        raise ValueError("masks-cls test: arrays and samples differ in number; the subset would be misaligned")
    sets = {
        "masks-cls test": (faces_x, faces_y),
        "masks-cls test, people not in training": (faces_x[unseen], faces_y[unseen]),
        "real-scene crops test": load_arrays("masks-det", "test", size),
        # where incorrect_mask comes from: is the class learnt on the synthetic faces?
        "masks-worn test (MaskedFace-Net)": load_arrays("masks-worn", "test", size),
        "lowered-mask test (synthetic incorrect_mask)": load_arrays("masks-lowered", "test", size),
    }
    train = [load_arrays("masks-cls", p, size) for p in ("train", "val")]
    xtr, ytr = np.concatenate([t[0] for t in train]), np.concatenate([t[1] for t in train])
    gtr = _gray(xtr)
    classical = {
        "KNN (k=5, gray 32 px)": KNeighborsClassifier(5),
        "decision tree (gray 32 px)": DecisionTreeClassifier(random_state=0),
        "SVM (RBF, gray 32 px)": SVC(),
    }
    for model in classical.values():
        model.fit(gtr, ytr)
    cnns = _shipped_classifiers()
    faces = sets["masks-cls test"]
    results: dict[str, Any] = {
        "sets": {},
        "speed": {name: _onnx_ms_per_face(clf, faces[0]) for name, clf in cnns.items()},
        "small_faces": _small_faces(cnns, *faces),
        "crop_margins": _crop_margins(cnns, size),
    }
    for set_name, (x, y) in sets.items():
        rows: dict[str, Any] = {name: classification_metrics(y, _onnx_predict(clf, x)) for name, clf in cnns.items()}
        g = _gray(x)
        for name, model in classical.items():
            rows[name] = classification_metrics(y, model.predict(g))
        results["sets"][set_name] = rows
    scene_x, scene_y = sets["real-scene crops test"]
    # masks-det's convention (real scenes, mask below the nose or on the chin) is the truth of the third class
    results["incorrect_mask_scene_test"] = {
        name: incorrect_mask_figures(scene_y, _onnx_predict(clf, scene_x))
        for name, clf in cnns.items()
        if name != "thesis CNN"  # two classes
    }
    for name, model in classical.items():
        g = _gray(sets["masks-cls test"][0][:32])
        started = time.perf_counter()
        for _ in range(3):
            model.predict(g)
        results["speed"][name] = {"ms_per_face_batch32": (time.perf_counter() - started) * 1000 / 96}
    print(json.dumps(results, indent=1))
    if write_report:
        RESULTS.write_text(json.dumps(results, indent=1))
        _write_report(results)
    return results


def _share(value: float | None, ci: Any) -> str:
    if value is None or ci is None:
        return "-"
    return f"{value:.3f} [{ci[0]:.3f}-{ci[1]:.3f}]"


def _write_report(results: dict[str, Any]) -> None:
    lines = []
    for set_name, rows in results["sets"].items():
        lines += [
            f"\n### {set_name} ({next(iter(rows.values()))['n']} faces)\n",
            "| model | accuracy | balanced accuracy | with/without only | "
            + " | ".join(f"{lbl} P / R / F1" for lbl in LABELS)
            + " |",
            "| --- | --- | --- | --- | " + " | ".join("---" for _ in LABELS) + " |",
        ]
        for name, m in rows.items():
            cells = []
            for lbl in LABELS:
                c = m.get(lbl)
                cells.append(f"{c['precision']:.3f} / {c['recall']:.3f} / {c['f1']:.3f}" if c else "-")
            binary = f"{m['binary_accuracy']:.3f}" if m["binary_accuracy"] is not None else "-"
            lines.append(
                f"| {name} | {m['accuracy']:.3f} | {m['balanced_accuracy']:.3f} | {binary} | "
                + " | ".join(cells)
                + " |"
            )
    lines += [
        "\n### Small faces: masks-cls test shrunk to N px, accuracy\n",
        "| model | " + " | ".join(f"{px} px" for px in SMALL_FACES_PX) + " |",
        "| --- | " + " | ".join("---" for _ in SMALL_FACES_PX) + " |",
    ]
    for name, by_px in results["small_faces"].items():
        lines.append(f"| {name} | " + " | ".join(f"{by_px[str(px)]:.3f}" for px in SMALL_FACES_PX) + " |")
    lines += [
        "\n### Crop margin: real-scene test crops cut with other margins (the daemon's is 15 %)\n",
        "with/without accuracy, then incorrect_mask right of all; the thesis CNN has no third class.\n",
        "| model | " + " | ".join(f"{m * 100:g} %" for m in CROP_MARGINS) + " |",
        "| --- | " + " | ".join("---" for _ in CROP_MARGINS) + " |",
    ]
    for name, by_margin in results["crop_margins"].items():
        at = [by_margin[f"{margin:g}"] for margin in CROP_MARGINS]
        lines.append(
            f"| {name} | "
            + " | ".join(f"{a['binary_accuracy']:.3f}, {a['incorrect_right']} / {a['incorrect_n']}" for a in at)
            + " |"
        )
    lines += [
        "\n### incorrect_mask on the real-scene test crops (masks-det's convention), 95 % Wilson intervals\n",
        "| model | faces | recall [95 % CI] | precision [95 % CI] |",
        "| --- | --- | --- | --- |",
    ]
    for name, f in results.get("incorrect_mask_scene_test", {}).items():
        lines.append(
            f"| {name} | {f['n']} | {_share(f['recall'], f['recall_ci'])} | {_share(f['precision'], f['precision_ci'])} |"
        )
    lines += [
        "\n### Speed on this CPU (2 cores), ms per face\n",
        "| model | batch 1 | batch 32 |",
        "| --- | --- | --- |",
    ]
    for name, s in results["speed"].items():
        b1 = f"{s['ms_per_face_batch1']:.2f}" if "ms_per_face_batch1" in s else "-"
        lines.append(f"| {name} | {b1} | {s['ms_per_face_batch32']:.2f} |")
    text = REPORT.read_text() if REPORT.exists() else ""
    marker = "<!-- comparison -->"
    head = text.split(marker)[0] if marker in text else text
    REPORT.write_text(
        head.rstrip() + f"\n\n{marker}\n## Comparison (`maskwatch eval masks`, one run)\n" + "\n".join(lines) + "\n"
    )
