"""``maskwatch train mask``: train the thesis CNN or ours with Keras, then export to ONNX.

Runs in its own process (TensorFlow must never share one with torch). Writes the Keras
model, the ONNX export the daemon runs, a metrics JSON, training curves and a confusion
matrix under ``models/``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from models.mask.arch import MASKWATCH_INPUT, THESIS_INPUT, maskwatch_cnn, thesis_cnn
from models.mask.data import DATASETS, LABELS, load_arrays
from models.shared_data import REPO_ROOT

MODELS_DIR = REPO_ROOT / "models"
ONNX_NAMES = {"maskwatch": "mask_classifier.onnx", "thesis": "mask_thesis.onnx"}


@dataclass
class MaskTrainOptions:
    arch: str = "maskwatch"
    epochs: int | None = None  # default: 21 for thesis (as the thesis did), 36 for ours
    batch: int = 32
    limit: int | None = None  # per split and data set, for CI's quick run
    out_dir: Path = MODELS_DIR
    threads: int = 2
    seed: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def _concat(parts: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def train_mask(opts: MaskTrainOptions) -> dict[str, Any]:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(opts.threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    keras.utils.set_random_seed(opts.seed)
    from models.mask.augment import cctv_dataset, plain_dataset

    thesis = opts.arch == "thesis"
    size = THESIS_INPUT if thesis else MASKWATCH_INPUT
    if thesis:
        # As the thesis did: masks-cls only, 85 % for training (our train + val), 15 % test.
        train = _concat([load_arrays("masks-cls", p, size, opts.limit) for p in ("train", "val")])
        val = load_arrays("masks-cls", "test", size, opts.limit)
        model = thesis_cnn()
        epochs = opts.epochs or 21
        train_ds = plain_dataset(*train, opts.batch, shuffle=True, seed=opts.seed)
        val_ds = plain_dataset(*val, 64)
        class_weight = None
    else:
        train = _concat([load_arrays(d, "train", size, opts.limit) for d in DATASETS])
        val = _concat([load_arrays(d, "val", size, opts.limit) for d in DATASETS])
        model = maskwatch_cnn(len(LABELS))
        epochs = opts.epochs or 36
        steps = max(1, int(np.ceil(len(train[0]) / opts.batch))) * epochs
        schedule = keras.optimizers.schedules.CosineDecay(2e-3, steps, alpha=0.02)
        model.compile(
            optimizer=keras.optimizers.Adam(schedule),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
        train_ds = cctv_dataset(*train, size, opts.batch, seed=opts.seed)
        val_ds = plain_dataset(*val, 64)
        counts = np.bincount(train[1], minlength=len(LABELS)).astype(float)
        weights = counts.sum() / (len(LABELS) * np.maximum(counts, 1))
        class_weight = {i: float(min(w, 5.0)) for i, w in enumerate(weights)}
    model.summary()
    print(f"training {opts.arch}: {len(train[0])} train / {len(val[0])} val images, {epochs} epochs")
    started = time.time()
    best_path = Path(tempfile.mkdtemp()) / "best.keras"
    history = model.fit(
        train_ds,
        validation_data=val_ds,
        epochs=epochs,
        class_weight=class_weight,
        callbacks=[keras.callbacks.ModelCheckpoint(best_path, monitor="val_loss", save_best_only=True)],
        verbose=1 if sys.stdout.isatty() else 2,
    )
    model = keras.models.load_model(best_path, compile=False)  # shipped without optimizer state
    minutes = (time.time() - started) / 60
    opts.out_dir.mkdir(parents=True, exist_ok=True)
    stem = opts.out_dir / "mask" / opts.arch
    stem.parent.mkdir(parents=True, exist_ok=True)
    model.save(stem.with_suffix(".keras"))
    onnx_path = export_onnx(model, opts.out_dir / ONNX_NAMES[opts.arch])
    probs = model.predict(plain_dataset(*val, 64), verbose=0)
    record = {
        "arch": opts.arch,
        "params": int(model.count_params()),
        "input": size,
        "epochs": epochs,
        "train_images": int(len(train[0])),
        "val_images": int(len(val[0])),
        "minutes": round(minutes, 1),
        "val_accuracy": float((probs.argmax(1) == val[1]).mean()),
        "history": {k: [float(v) for v in vs] for k, vs in history.history.items()},
        "onnx": str(onnx_path.relative_to(REPO_ROOT)) if onnx_path.is_relative_to(REPO_ROOT) else str(onnx_path),
    }
    (stem.parent / f"{opts.arch}_metrics.json").write_text(json.dumps(record, indent=1))
    _plot(record, val[1], probs.argmax(1), stem.parent, opts.arch)
    print(json.dumps({k: v for k, v in record.items() if k != "history"}))
    return record


def export_onnx(model: Any, out: Path) -> Path:
    """Keras 3 -> SavedModel (``model.export``) -> ONNX with tf2onnx, in a subprocess."""
    with tempfile.TemporaryDirectory() as tmp:
        saved = Path(tmp) / "saved"
        model.export(str(saved), verbose=False)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "tf2onnx.convert",
                "--saved-model",
                str(saved),
                "--output",
                str(out),
                "--opset",
                "17",
            ],
            check=True,
            capture_output=True,
        )
    return out


def _plot(record: dict[str, Any], truth: np.ndarray, pred: np.ndarray, out_dir: Path, arch: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import ConfusionMatrixDisplay

    hist = record["history"]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for key in ("loss", "val_loss"):
        axes[0].plot(hist[key], label=key)
    for key in ("accuracy", "val_accuracy"):
        axes[1].plot(hist[key], label=key)
    for ax, title in zip(axes, ("loss", "accuracy")):
        ax.set_title(f"{arch}: {title}")
        ax.set_xlabel("epoch")
        ax.legend()
    fig.tight_layout()
    fig.savefig(out_dir / f"{arch}_curves.png", dpi=80)
    plt.close(fig)
    labels = list(range(2 if arch == "thesis" else len(LABELS)))
    disp = ConfusionMatrixDisplay.from_predictions(
        truth, pred, labels=labels, display_labels=[LABELS[i] for i in labels], colorbar=False
    )
    disp.ax_.set_title(f"{arch}: validation confusion matrix")
    disp.figure_.tight_layout()
    disp.figure_.savefig(out_dir / f"{arch}_confusion.png", dpi=80)
    plt.close(disp.figure_)
