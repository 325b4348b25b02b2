"""A probe, not a shipped model: what limits ``incorrect_mask`` on the real-scene crops?

The wide CNN's recipe re-made in torch, so that dozens of variants (input size, capacity,
which collections go into training) train in seconds each on a GPU where TensorFlow is not
installed. Same committed splits and crop policy as ``maskwatch train mask --with-val``
(train + val in, test out); augmentation is the same kinds of CCTV damage as
``models/mask/augment.py`` except JPEG re-compression, done on the device.

    python -m research.mask_probe.probe pack                 # splits at 128 px as JPEG bytes -> .cache/probe/data128.npz
    python -m research.mask_probe.probe run --plan data      # one JSON line per trained model -> .cache/probe/runs.jsonl

Results and what they mean: ``models/MASK_MODEL.md`` (*What limits incorrect_mask*).
Run in its own process: torch, never TensorFlow.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from models.mask.compare import classification_metrics
from models.mask.data import class_weights, load_arrays
from models.shared_data import REPO_ROOT

PACK_PX = 128
PROBE_DIR = REPO_ROOT / ".cache" / "probe"
COLLECTIONS = ("masks-cls", "masks-cls-synthetic", "masks-worn", "masks-det", "masks-lowered")
INCORRECT = 2


@dataclass(frozen=True)
class Variant:
    name: str
    arch: str = "wide"  # our layout, or a torchvision model name (resnet18)
    px: int = 64
    only: tuple[str, ...] = COLLECTIONS  # the collections trained on
    repeat_scenes: int = 1  # real-scene crops this many times per epoch
    epochs: int = 40


PLANS: dict[str, list[Variant]] = {
    # input size and capacity, all the data
    "capacity": [
        Variant("wide64"),
        Variant("wide128", px=128),
        Variant("resnet18_128", arch="resnet18", px=128),
        Variant("wide128_scenes_x3", px=128, repeat_scenes=3),
    ],
    # which collections: the border between with_mask and incorrect_mask is drawn by labels
    "data": [
        Variant("wide128_no_masks_cls", px=128, only=tuple(c for c in COLLECTIONS if c != "masks-cls")),
        Variant("wide64_no_masks_cls", only=tuple(c for c in COLLECTIONS if c != "masks-cls")),
        Variant(
            "resnet18_128_no_masks_cls", arch="resnet18", px=128, only=tuple(c for c in COLLECTIONS if c != "masks-cls")
        ),
        Variant("wide128_no_masks_cls_e80", px=128, epochs=80, only=tuple(c for c in COLLECTIONS if c != "masks-cls")),
        Variant("wide128_scenes_only", px=128, only=("masks-det",)),
        Variant("wide64_scenes_only", only=("masks-det",)),
        Variant("wide64_masks_cls_and_scenes", only=("masks-cls", "masks-det")),
        # no incorrect_mask from pasted masks: only the 80 real-scene ones
        Variant("wide64_no_pasted_incorrect", only=("masks-cls", "masks-cls-synthetic", "masks-det")),
    ],
}


def pack(path: Path, limit: int | None = None, quality: int = 90) -> Path:
    """Every split of every collection at 128 px, JPEG-encoded (no pickle): ~47 MB."""
    out: dict[str, np.ndarray] = {}
    for ds in COLLECTIONS:
        for part in ("train", "val", "test"):
            x, y = load_arrays(ds, part, PACK_PX, limit=limit)
            blobs = [
                cv2.imencode(".jpg", cv2.cvtColor(im, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])[
                    1
                ].ravel()
                for im in x
            ]
            out[f"{ds}.{part}.jpg"] = np.concatenate(blobs) if blobs else np.zeros(0, np.uint8)
            out[f"{ds}.{part}.off"] = np.cumsum([0] + [len(b) for b in blobs])
            out[f"{ds}.{part}.y"] = y
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **out)  # type: ignore[arg-type]  # numpy's stub reads ** as its allow_pickle flag
    return path


def _unpack(data: Any, ds: str, part: str) -> tuple[np.ndarray, np.ndarray]:
    blob, off, y = data[f"{ds}.{part}.jpg"], data[f"{ds}.{part}.off"], data[f"{ds}.{part}.y"]
    images = []
    for i in range(len(y)):
        image = cv2.imdecode(blob[off[i] : off[i + 1]], cv2.IMREAD_COLOR)
        if image is None:
            raise ValueError(f"{ds} {part}: image {i} in the pack does not decode")
        images.append(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
    x = np.stack(images) if images else np.zeros((0, PACK_PX, PACK_PX, 3), np.uint8)
    return x, y.astype(np.int64)


@dataclass
class Result:
    variant: dict[str, Any]
    seed: int
    device: str
    n_train: int
    params: int
    train_s: float
    test: dict[str, dict[str, Any]] = field(default_factory=dict)
    small_faces: dict[int, float] = field(default_factory=dict)
    scene_incorrect_p: list[float] = field(default_factory=list)
    false_incorrect_for_12_of_13: int = 0


class Probe:
    """Holds the packed splits on the device and trains :class:`Variant` s on them."""

    def __init__(self, data_path: Path, device: str | None = None):
        import torch

        self.torch = torch
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        with np.load(data_path) as data:
            self.train = {ds: [_unpack(data, ds, p) for p in ("train", "val")] for ds in COLLECTIONS}
            self.test = {ds: _unpack(data, ds, "test") for ds in COLLECTIONS}
        self.test_x = {ds: self._to_device(x) for ds, (x, _) in self.test.items()}

    def _to_device(self, x: np.ndarray) -> Any:
        return self.torch.from_numpy(x).to(self.device).permute(0, 3, 1, 2).contiguous()

    def _model(self, v: Variant) -> Any:
        nn = self.torch.nn
        if v.arch != "wide":
            import torchvision

            return getattr(torchvision.models, v.arch)(weights=None, num_classes=3)

        def conv_bn(cin: int, cout: int) -> Any:
            return nn.Sequential(
                nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)
            )

        # models/mask/arch.py's `wide`; at 128 px one more conv + pool in front
        plan = ([[32]] if v.px == 128 else []) + [[32], [64, 64], [128, 128], [256, 256]]
        layers: list[Any] = []
        c = 3
        for block in plan:
            for w in block:
                layers.append(conv_bn(c, w))
                c = w
            layers.append(nn.MaxPool2d(2))
        layers += [conv_bn(c, 384), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.2), nn.Linear(384, 3)]
        return nn.Sequential(*layers)

    def _augment(self, x: Any, px: int, strength: float) -> Any:
        """uint8 NCHW at 128 px -> float [0, 1] at ``px``, damaged as a CCTV camera would."""
        torch, fn, dev = self.torch, self.torch.nn.functional, self.device
        n, s = x.shape[0], strength

        def uniform(*shape: int) -> Any:
            return torch.rand(*shape, device=dev) * 2 - 1

        x = x.float() / 255.0
        angle = uniform(n) * (12 * s) * np.pi / 180
        zoom = 1 + uniform(n) * 0.15 * s
        flip = torch.where(torch.rand(n, device=dev) < 0.5, -1.0, 1.0)
        tx, ty = uniform(n) * 0.08 * s, uniform(n) * 0.08 * s
        cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
        theta = torch.stack([torch.stack([cos * flip, -sin, tx], 1), torch.stack([sin * flip, cos, ty], 1)], 1)
        grid = fn.affine_grid(theta, [n, 3, px, px], align_corners=False)
        x = fn.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
        low = torch.rand(n, device=dev) < 0.1  # as if the face were 12..px pixels
        if low.any():
            side = int(np.random.randint(12, px))
            down = fn.interpolate(x[low], size=(side, side), mode="area")
            x[low] = fn.interpolate(down, size=(px, px), mode="bilinear", align_corners=False)
        if np.random.rand() < 0.5:
            blur = torch.rand(n, device=dev) < 0.3 * s
            if blur.any():
                x[blur] = self._blur(x[blur], float(np.random.uniform(0.4, 1.6)) * px / 64)
        gray = x.mean(1, keepdim=True)
        saturation = 1 + uniform(n, 1, 1, 1) * 0.5 * s
        ir_look = torch.rand(n, 1, 1, 1, device=dev) < 0.12 * s
        x = gray + (x - gray) * torch.where(ir_look, torch.zeros_like(saturation), saturation)
        swap = torch.rand(n, device=dev) < 0.1 * s  # masks of every colour
        if swap.any():
            x[swap] = x[swap][:, torch.randperm(3)]
        mean = x.mean((1, 2, 3), keepdim=True)
        brightness = uniform(n, 1, 1, 1) * 0.25 * s
        contrast = 1 + uniform(n, 1, 1, 1) * 0.35 * s
        x = (x - mean) * contrast + mean + brightness
        noisy = torch.rand(n, 1, 1, 1, device=dev) < 0.3 * s
        x = x + noisy * torch.randn_like(x) * torch.rand(n, 1, 1, 1, device=dev) * 0.05
        return x.clamp(0, 1)

    def _blur(self, x: Any, sigma: float) -> Any:
        torch, fn = self.torch, self.torch.nn.functional
        k = int(2 * round(3 * sigma) + 1)
        t = torch.arange(k, device=x.device, dtype=x.dtype) - k // 2
        g = torch.exp(-(t**2) / (2 * sigma**2))
        g = (g / g.sum()).repeat(3, 1, 1, 1)
        x = fn.conv2d(fn.pad(x, (k // 2, k // 2, 0, 0), mode="reflect"), g.view(3, 1, 1, k), groups=3)
        return fn.conv2d(fn.pad(x, (0, 0, k // 2, k // 2), mode="reflect"), g.view(3, 1, k, 1), groups=3)

    def _predict(self, model: Any, x: Any, px: int, shrink_to: int | None = None) -> np.ndarray:
        torch, fn = self.torch, self.torch.nn.functional
        model.eval()
        out = []
        with torch.no_grad():
            for i in range(0, len(x), 512):
                b = x[i : i + 512].float() / 255.0
                if shrink_to:
                    small = fn.interpolate(b, size=(shrink_to, shrink_to), mode="area")
                    b = fn.interpolate(small, size=(PACK_PX, PACK_PX), mode="bilinear", align_corners=False)
                if px != PACK_PX:
                    b = fn.interpolate(b, size=(px, px), mode="area")
                with torch.autocast("cuda", dtype=torch.bfloat16, enabled=self.device == "cuda"):
                    out.append(torch.softmax(model(b * 2 - 1).float(), 1))
        return np.asarray(torch.cat(out).cpu().numpy())

    def run(self, v: Variant, seed: int, epochs: int | None = None, strength: float = 0.6) -> Result:
        torch, fn = self.torch, self.torch.nn.functional
        torch.manual_seed(seed)
        np.random.seed(seed)
        xs, ys = [], []
        for ds in v.only:
            for x, y in self.train[ds]:
                for _ in range(v.repeat_scenes if ds == "masks-det" else 1):
                    xs.append(x)
                    ys.append(y)
        x_train = self._to_device(np.concatenate(xs))
        y_train = torch.from_numpy(np.concatenate(ys)).to(self.device)
        weight = torch.tensor(class_weights(np.concatenate(ys)), dtype=torch.float32, device=self.device)
        model = self._model(v).to(self.device).to(memory_format=torch.channels_last)
        epochs = epochs or v.epochs
        batch = 128
        steps = epochs * -(-len(y_train) // batch)
        opt = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=5e-4)
        schedule = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, total_steps=steps, pct_start=0.1)
        start = time.time()
        for epoch in range(epochs):
            model.train()
            order = torch.randperm(len(y_train), device=self.device)
            # the last 6 epochs at half the augmentation, as our fine-tune stage
            s = strength if epoch < epochs - 6 else strength / 2
            for i in range(0, len(y_train), batch):
                idx = order[i : i + batch]
                xb = (self._augment(x_train[idx], v.px, s) * 2 - 1).contiguous(memory_format=torch.channels_last)
                with torch.autocast("cuda", dtype=torch.bfloat16, enabled=self.device == "cuda"):
                    loss = fn.cross_entropy(model(xb).float(), y_train[idx], weight=weight)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                schedule.step()
        result = Result(
            variant=asdict(v) | {"epochs": epochs},
            seed=seed,
            device=self.device,
            n_train=int(len(y_train)),
            params=sum(p.numel() for p in model.parameters()),
            train_s=round(time.time() - start, 1),
        )
        for ds in ("masks-cls", "masks-det", "masks-worn", "masks-lowered"):
            result.test[ds] = _scores(self._predict(model, self.test_x[ds], v.px), self.test[ds][1])
        cls_x, cls_y = self.test_x["masks-cls"], self.test["masks-cls"][1]
        for side in (24, 32, 48):
            result.small_faces[side] = float((self._predict(model, cls_x, v.px, side).argmax(1) == cls_y).mean())
        p_scene, y_scene = self._predict(model, self.test_x["masks-det"], v.px), self.test["masks-det"][1]
        p_incorrect = p_scene[y_scene == INCORRECT, INCORRECT]
        result.scene_incorrect_p = [round(float(p), 3) for p in p_incorrect]
        if len(p_incorrect):
            # the false incorrect_mask calls a threshold on p(incorrect) would cost to get 12 of 13 right
            bar = np.sort(p_incorrect)[::-1][min(11, len(p_incorrect) - 1)]
            result.false_incorrect_for_12_of_13 = int((p_scene[y_scene != INCORRECT, INCORRECT] >= bar).sum())
        return result


def _scores(p: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    pred = p.argmax(1)
    return classification_metrics(y, pred) | {
        "incorrect_right": int(((pred == INCORRECT) & (y == INCORRECT)).sum()),
        "incorrect_n": int((y == INCORRECT).sum()),
        "called_incorrect_wrongly": int(((pred == INCORRECT) & (y != INCORRECT)).sum()),
        "incorrect_missed": [int(i) for i in np.where((y == INCORRECT) & (pred != INCORRECT))[0]],
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m research.mask_probe.probe", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("pack", help="the committed splits at 128 px as JPEG bytes")
    p.add_argument("--limit", type=int, help="a few images per split (tests)")
    p.add_argument("--out", type=Path, default=PROBE_DIR / f"data{PACK_PX}.npz")
    r = sub.add_parser("run", help="train the variants of a plan, one JSON line each")
    r.add_argument("--plan", choices=sorted(PLANS), required=True)
    r.add_argument("--only", nargs="*", help="these variants of the plan only")
    r.add_argument("--data", type=Path, default=PROBE_DIR / f"data{PACK_PX}.npz")
    r.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    r.add_argument("--epochs", type=int, help="override every variant's epochs (tests)")
    r.add_argument("--out", type=Path, default=PROBE_DIR / "runs.jsonl")
    r.add_argument("--budget-s", type=float, default=float("inf"), help="start no run after this many seconds")
    args = ap.parse_args(argv)
    if args.cmd == "pack":
        print(pack(args.out, args.limit))
        return 0
    if not args.data.exists():
        ap.error(f"{args.data} not found: run `python -m research.mask_probe.probe pack` first")
    start = time.time()
    probe = Probe(args.data)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    for seed in args.seeds:
        for v in PLANS[args.plan]:
            if args.only and v.name not in args.only:
                continue
            if time.time() - start > args.budget_s:
                print("time budget spent; stopping", flush=True)
                return 0
            line = json.dumps(asdict(probe.run(v, seed, args.epochs)))
            print(line, flush=True)
            with args.out.open("a") as f:
                f.write(line + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
