"""``maskwatch train face``: train the YOLO face detector with ultralytics, in stages.

Each stage is one ultralytics run warm-started from the weights the previous stage
committed (``workers/weights/face_detector.pt``), or from the model yaml with no pretrained
weights for the first. The stage's figures are appended to ``models/face/stages.jsonl``.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from models.face.data import CACHE_DIR, write_yolo_dataset
from models.shared_data import REPO_ROOT
from workers.offline import ultralytics_offline

MODEL_YAML = Path(__file__).with_name("maskwatch-face.yaml")
SHIPPED_PT = REPO_ROOT / "workers" / "weights" / "face_detector.pt"
SHIPPED_ONNX = REPO_ROOT / "workers" / "weights" / "face_detector.onnx"
STAGES_LOG = Path(__file__).with_name("stages.jsonl")
SHIPPED_IMGSZ = 416


@dataclass
class FaceTrainOptions:
    epochs: int = 30
    imgsz: int = SHIPPED_IMGSZ
    batch: int = 16
    device: str = "cpu"
    workers: int = 2
    from_scratch: bool = False
    limit: int | None = None
    pseudo: bool = True  # add the committed pseudo-labelled photos and frames
    out_dir: Path = REPO_ROOT / ".cache" / "runs" / "face"
    ship: bool = True
    name: str = "stage"
    scale: float = 0.5
    """ultralytics' random zoom gain (0.5: 0.5-1.5x); higher puts more small faces in each batch."""


def train_face(opts: FaceTrainOptions) -> dict[str, object]:
    ultralytics_offline(verbose=True)
    from ultralytics import YOLO  # imported late: it reads the offline settings above

    data_root = CACHE_DIR if opts.limit is None else opts.out_dir / "data-limited"
    from models.face.pseudo import pseudo_label_images

    extra = pseudo_label_images() if opts.pseudo and opts.limit is None else None
    data_yaml = write_yolo_dataset(data_root, limit=opts.limit, extra_train=extra)
    warm = SHIPPED_PT.exists() and not opts.from_scratch
    model = YOLO(str(SHIPPED_PT)) if warm else YOLO(str(MODEL_YAML))
    started = time.time()
    model.train(
        data=str(data_yaml),
        epochs=opts.epochs,
        imgsz=opts.imgsz,
        batch=opts.batch,
        device=opts.device,
        workers=opts.workers,
        # False builds fresh weights (ultralytics drops the loaded model); a path warm-starts from it
        pretrained=str(SHIPPED_PT) if warm else False,
        warmup_epochs=1.0 if warm else 3.0,
        amp=opts.device != "cpu",
        plots=False,
        cache="ram",
        project=str(opts.out_dir),
        name=opts.name,
        exist_ok=True,
        scale=opts.scale,
        close_mosaic=max(1, opts.epochs // 6),
        patience=max(10, opts.epochs),
        seed=0,
        deterministic=False,
        verbose=True,
    )
    trainer = model.trainer
    assert trainer is not None
    best = Path(trainer.best)
    metrics = {k: float(v) for k, v in (trainer.metrics or {}).items()}
    record: dict[str, object] = {
        "stage": opts.name,
        "warm_start": str(SHIPPED_PT.relative_to(REPO_ROOT)) if warm else str(MODEL_YAML.name),
        "epochs": opts.epochs,
        "imgsz": opts.imgsz,
        "scale": opts.scale,
        "device": opts.device,
        "train_images": len(list((data_root / "images" / "train").iterdir())),
        "val_images": len(list((data_root / "images" / "val").iterdir())),
        "hours": round((time.time() - started) / 3600, 2),
        "metrics": metrics,
        "weights": str(best.relative_to(REPO_ROOT)) if best.is_relative_to(REPO_ROOT) else str(best),
        "shipped": bool(opts.ship and best.exists()),
    }
    if record["shipped"]:
        shutil.copy(best, SHIPPED_PT)
        export_onnx(SHIPPED_PT, opts.imgsz)
    if record["shipped"] or opts.limit is None:  # every full stage is logged, and all that ship
        with STAGES_LOG.open("a") as log:
            log.write(json.dumps(record) + "\n")
    print(json.dumps(record, indent=2))
    return record


def export_onnx(weights: Path, imgsz: int) -> Path:
    """ONNX with a dynamic batch axis, so the inference worker batches across cameras."""
    ultralytics_offline()
    from ultralytics import YOLO

    out = YOLO(str(weights)).export(format="onnx", imgsz=imgsz, dynamic=True, simplify=True)
    shutil.move(str(out), SHIPPED_ONNX)
    return SHIPPED_ONNX
