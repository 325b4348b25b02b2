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
from models.mask.data import (
    DATASETS,
    LABELS,
    PAINTED,
    class_weights,
    concat_arrays,
    load_arrays,
    load_folder,
    thin_painted_wrong,
)
from models.shared_data import REPO_ROOT
from workers.classifier import decide

MODELS_DIR = REPO_ROOT / "models"
WEIGHTS_DIR = REPO_ROOT / "workers" / "weights"  # what the daemon runs ships there (package data)
ONNX_NAMES = {"maskwatch": "mask_classifier.onnx", "thesis": "mask_thesis.onnx"}


@dataclass
class MaskTrainOptions:
    arch: str = "maskwatch"
    epochs: int | None = None  # default: 21 for thesis (as the thesis did); ours: 32 from scratch, 10 fine-tuning
    init: Path | None = None  # ours: fine-tune these weights (stage 2) instead of starting from scratch
    size: int = MASKWATCH_INPUT  # ours: input px
    lr: float | None = None  # ours: peak learning rate; default 2e-3 from scratch, 4e-4 fine-tuning
    layout: str = "wide"  # ours: see models.mask.arch.LAYOUTS
    name: str | None = None  # file stem under models/mask/; default the arch
    width: float = 1.0  # ours: channel multiplier (must match --init's model)
    augment: float | None = None  # ours: CCTV augmentation strength; default 0.6 from scratch, 0.3 fine-tuning
    lowres: float | None = None  # ours: share of batches scaled down and up (default 0.35 x augment)
    hue: float = 0.0  # ours: share of images hue-rotated (colour-shortcut breaking)
    painted: bool = False  # ours: add the painted-mask faces (models.mask.painted) to training
    painted_wrong: float = 1.0  # ours: share of the painted faces worn wrong that are kept
    soup: list[Path] = field(default_factory=list)  # ours: average these fine-tunes' weights, no training
    batch: int = 32
    limit: int | None = None  # per split and data set, for CI's quick run
    out_dir: Path = MODELS_DIR
    threads: int = 2
    seed: int = 0
    with_val: bool = False  # ours: train on train + val and keep the last epoch (the final model of a fixed recipe)
    extra_dirs: list[Path] = field(default_factory=list)  # ours: reviewed crops (`maskwatch export reviewed`)
    extra: dict[str, Any] = field(default_factory=dict)


def configure_tensorflow(threads: int) -> None:
    """This CPU's cores for one op at a time: a shared box, and one training per process."""
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)


def train_mask(opts: MaskTrainOptions) -> dict[str, Any]:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    configure_tensorflow(opts.threads)
    keras.utils.set_random_seed(opts.seed)
    from models.mask.augment import cctv_dataset, plain_dataset

    if opts.soup:
        return _soup(opts)
    thesis = opts.arch == "thesis"
    if thesis and opts.with_val:
        raise ValueError("--with-val is for ours: the thesis run already trains on train + val (test is held out)")
    if thesis and opts.extra_dirs:
        raise ValueError("--extra is for ours: the thesis CNN has two classes and its own fixed data")
    if thesis and (opts.painted or opts.hue):
        raise ValueError("--painted and --hue are for ours: the thesis CNN trains as the thesis did")
    if not 0.0 <= opts.painted_wrong <= 1.0:
        raise ValueError(f"--painted-wrong {opts.painted_wrong}: a share, from 0 to 1")
    if opts.painted_wrong < 1.0 and not opts.painted:
        raise ValueError("--painted-wrong is a share of the painted faces: add --painted")
    size = THESIS_INPUT if thesis else opts.size
    name = opts.name or opts.arch
    strength = 0.0  # the thesis trained without augmentation
    extra_images = 0
    if thesis:
        # As the thesis did: masks-cls only, 85 % for training (our train + val), 15 % test.
        train = concat_arrays([load_arrays("masks-cls", p, size, opts.limit) for p in ("train", "val")])
        val = load_arrays("masks-cls", "test", size, opts.limit)
        model = thesis_cnn()
        epochs = opts.epochs or 21
        train_ds = plain_dataset(*train, opts.batch, shuffle=True, seed=opts.seed)
        val_ds = plain_dataset(*val, 64)
        class_weight = None
    else:
        painted = PAINTED if opts.painted else ()

        def arrays(dataset: str, part: str) -> tuple[np.ndarray, np.ndarray]:
            x, y = load_arrays(dataset, part, size, opts.limit)
            return thin_painted_wrong(x, y, opts.painted_wrong) if dataset in PAINTED else (x, y)

        train = concat_arrays([arrays(d, "train") for d in DATASETS + painted])
        val = concat_arrays([load_arrays(d, "val", size, opts.limit) for d in DATASETS])  # real faces choose the epoch
        if opts.with_val:
            # Real below-nose faces are what the model is short of; once the recipe is fixed
            # on val, val's faces are worth more in training. Val figures are then not held out.
            train = concat_arrays([train, val, *(arrays(d, "val") for d in painted)])
        extras = [load_folder(d, size) for d in opts.extra_dirs]
        extra_images = sum(len(x) for x, _ in extras)
        if extras:
            # the reviewers' corrections of this site's cameras: training data, never val
            train = concat_arrays([train, *extras])
            print(f"adding {extra_images} reviewed crops from {', '.join(map(str, opts.extra_dirs))}")
        model = maskwatch_cnn(len(LABELS), size, opts.width, opts.layout)
        if opts.init:
            # global pooling: the weights of one input size load into another
            model.set_weights(keras.models.load_model(opts.init, compile=False).get_weights())
            print(f"fine-tuning {opts.init} at {size} px")
        epochs = opts.epochs or (10 if opts.init else 32)
        compile_ours(model, len(train[0]), opts.batch, epochs, opts.lr or (4e-4 if opts.init else 2e-3))
        strength = opts.augment if opts.augment is not None else (0.3 if opts.init else 0.6)
        train_ds = cctv_dataset(
            *train, size, opts.batch, seed=opts.seed, strength=strength, lowres=opts.lowres, hue=opts.hue
        )
        val_ds = plain_dataset(*val, 64)
        class_weight = {i: float(w) for i, w in enumerate(class_weights(train[1]))}
    model.summary()
    print(f"training {opts.arch}: {len(train[0])} train / {len(val[0])} val images, {epochs} epochs")
    started = time.time()
    best_path = Path(tempfile.mkdtemp()) / "best.keras"
    # the checkpoint is chosen on val, unless val is in training: then the last epoch
    checkpoint = keras.callbacks.ModelCheckpoint(best_path, monitor="val_loss", save_best_only=not opts.with_val)
    history = model.fit(
        train_ds,
        validation_data=val_ds,
        epochs=epochs,
        class_weight=class_weight,
        callbacks=[checkpoint],
        verbose=1 if sys.stdout.isatty() else 2,
    )
    model = keras.models.load_model(best_path, compile=False)  # shipped without optimizer state
    record = {
        "arch": opts.arch,
        "name": name,
        "init": str(opts.init) if opts.init else None,
        "input": size,
        "epochs": epochs,
        "augment": strength,
        "lowres": opts.lowres,
        "hue": opts.hue,
        "painted": opts.painted,
        "painted_wrong": opts.painted_wrong,
        "width": None if thesis else opts.width,
        "layout": None if thesis else opts.layout,
        "train_images": int(len(train[0])),
        "val_images": int(len(val[0])),
        "val_in_training": opts.with_val,
        "extra_dirs": [str(d) for d in opts.extra_dirs],
        "extra_images": extra_images,
        "minutes": round((time.time() - started) / 60, 1),
        "history": {k: [float(v) for v in vs] for k, vs in history.history.items()},
    }
    return _ship(model, name, opts.out_dir, val, record, 2 if thesis else len(LABELS))


def compile_ours(model: Any, images: int, batch: int, epochs: int, peak: float) -> None:
    """Adam on a cosine decay from ``peak`` over the whole run, cross-entropy on the labels."""
    import keras

    steps = max(1, int(np.ceil(images / batch))) * epochs
    model.compile(
        optimizer=keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(peak, steps, alpha=0.02)),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )


def _soup(opts: MaskTrainOptions) -> dict[str, Any]:
    """One model whose weights are the mean of several fine-tunes of one stage-1 model.

    Fine-tunes that start from the same weights stay in one basin, so their average is a
    working network (a "model soup", Wortsman et al. 2022) that keeps what each learned:
    the same cost at run time as one model, unlike an ensemble.
    """
    import keras

    models = [keras.models.load_model(path, compile=False) for path in opts.soup]
    shapes = [[w.shape for w in m.get_weights()] for m in models]
    if any(s != shapes[0] for s in shapes[1:]):
        raise ValueError("--soup: the models differ in shape; give fine-tunes of one stage-1 model")
    soup = models[0]
    soup.set_weights([np.mean(ws, axis=0) for ws in zip(*(m.get_weights() for m in models))])
    size = int(soup.input_shape[1])
    val = concat_arrays([load_arrays(d, "val", size, opts.limit) for d in DATASETS])
    name = opts.name or opts.arch
    record: dict[str, Any] = {
        "arch": opts.arch,
        "name": name,
        "soup": [str(p) for p in opts.soup],
        "input": size,
        "val_images": int(len(val[0])),
        "val_in_training": any(_trained_on_val(p) for p in opts.soup),
        "history": {},
    }
    print(f"averaged the weights of {len(models)} models: {', '.join(map(str, opts.soup))}")
    return _ship(soup, name, opts.out_dir, val, record, len(LABELS))


def _trained_on_val(keras_path: Path) -> bool:
    metrics = keras_path.with_name(f"{keras_path.stem}_metrics.json")
    return metrics.exists() and bool(json.loads(metrics.read_text()).get("val_in_training"))


def _ship(
    model: Any, name: str, out_dir: Path, val: tuple[np.ndarray, np.ndarray], record: dict[str, Any], classes: int
) -> dict[str, Any]:
    """Save the Keras model, export ONNX if it is a shipped one, write metrics and plots."""
    from models.mask.augment import plain_dataset

    stem = out_dir / "mask" / name
    stem.parent.mkdir(parents=True, exist_ok=True)
    model.save(stem.with_suffix(".keras"))
    # only the shipped models are exported; a stage-1 model is an input to stage 2
    weights_dir = WEIGHTS_DIR if out_dir == MODELS_DIR else out_dir
    onnx_path = export_onnx(model, weights_dir / ONNX_NAMES[name]) if name in ONNX_NAMES else None
    probs = model.predict(plain_dataset(*val, 64), verbose=0)
    predicted = decide(probs)  # as `classify` will call them
    record["params"] = int(model.count_params())
    record["val_accuracy"] = float((predicted == val[1]).mean())
    record["onnx"] = None if onnx_path is None else _shown(onnx_path)
    (stem.parent / f"{name}_metrics.json").write_text(json.dumps(record, indent=1))
    _plot(record, val[1], predicted, stem.parent, name, classes)
    print(json.dumps({k: v for k, v in record.items() if k != "history"}))
    return record


def _shown(path: Path) -> str:
    return str(path.relative_to(REPO_ROOT)) if path.is_relative_to(REPO_ROOT) else str(path)


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
    store_weights_fp16(out)
    return out


def store_weights_fp16(path: Path) -> None:
    """Halve the file: float weights stored as fp16, each behind a Cast back to fp32.

    ONNX Runtime folds the Casts when it loads the model, so inference still runs in
    fp32 at the same speed; the outputs move by about 1e-3.
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load(str(path))
    graph = model.graph
    kept, casts = [], []
    for init in graph.initializer:
        if init.data_type == TensorProto.FLOAT and np.prod(init.dims) >= 1024:
            half = numpy_helper.from_array(numpy_helper.to_array(init).astype(np.float16), init.name + "_fp16")
            kept.append(half)
            casts.append(helper.make_node("Cast", [half.name], [init.name], to=TensorProto.FLOAT))
        else:
            kept.append(init)
    del graph.initializer[:]
    graph.initializer.extend(kept)
    nodes = casts + list(graph.node)
    del graph.node[:]
    graph.node.extend(nodes)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def _plot(record: dict[str, Any], truth: np.ndarray, pred: np.ndarray, out_dir: Path, arch: str, classes: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import ConfusionMatrixDisplay

    hist = record["history"]
    if hist:  # a soup has no training curves of its own
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
    labels = list(range(classes))
    disp = ConfusionMatrixDisplay.from_predictions(
        truth, pred, labels=labels, display_labels=[LABELS[i] for i in labels], colorbar=False
    )
    disp.ax_.set_title(f"{arch}: validation confusion matrix")
    disp.figure_.tight_layout()
    disp.figure_.savefig(out_dir / f"{arch}_confusion.png", dpi=80)
    plt.close(disp.figure_)
