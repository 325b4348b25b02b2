"""``maskwatch eval masks --cross-collection``: leave one collection out, for every recipe.

A validation split drawn from the training collections rewards fitting them: our split said
99.6 % where a collection we never saw said 97.6 %. Here each real collection (masks-cls,
masks-cls-synthetic, masks-worn, the masks-det scene crops) is held out in turn: every
recipe trains on the others (with what is made from them: lowered and painted faces go
with the collection whose faces they are) and is tested on the whole held-out one.
Recipes are chosen on the mean over the folds.

Reading of the figures: the daemon alerts on ``without_mask``, so on a collection without a
third class a face counts as "masked" when it is not called ``without_mask``.
``masked recall`` is that share of the faces labelled ``with_mask``, ``unmasked recall``
the share of ``without_mask`` faces called ``without_mask``.

Each (recipe, fold) result is kept in ``models/mask/crossval/`` as it finishes, so an
interrupted run resumes where it stopped; ``--fresh`` trains everything again.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import time
from dataclasses import MISSING, asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

import numpy as np

from models.mask.arch import MASKWATCH_INPUT, THESIS_INPUT, maskwatch_cnn, thesis_cnn
from models.mask.compare import incorrect_mask_figures
from models.mask.data import (
    COLLECTIONS,
    DATASETS,
    LABEL_INDEX,
    LABELS,
    PAINTED,
    class_weights,
    collection_datasets,
    concat_arrays,
    crop_widths,
    load_arrays,
    thin_painted_wrong,
)
from models.shared_data import REPO_ROOT
from workers.classifier import decide

RESULTS_DIR = REPO_ROOT / "models" / "mask" / "crossval"
REPORT = REPO_ROOT / "models" / "MASK_MODEL.md"
MARKER = "<!-- cross-collection -->"
WIDTH_BINS = ((0, 40, "< 40 px"), (40, 64, "40-63 px"), (64, 10**6, ">= 64 px"))
PARTS = ("train", "val", "test")


@dataclass(frozen=True)
class Recipe:
    """What a model is trained on and how: everything but the held-out collection."""

    name: str
    arch: str  # "thesis" or "maskwatch"
    datasets: tuple[str, ...]
    epochs: int
    augment: float = 0.0
    lowres: float | None = None
    hue: float = 0.0
    peak_lr: float = 2e-3
    flip: bool = False
    """At test time, average the face and its mirror image (twice the classifier's time per face)."""
    bare_by_majority: bool = False
    """At test time, call a face ``without_mask`` only when it holds at least half the probability
    (``workers.classifier.decide``, the daemon's rule) instead of when it is the likeliest label."""
    painted_wrong: float = 1.0
    """Share of the painted faces worn wrong (``incorrect_mask``) kept in training: one painted
    face in four is painted wrong, and those may teach that a bare chin is a mask worn wrong."""

    @property
    def size(self) -> int:
        return THESIS_INPUT if self.arch == "thesis" else MASKWATCH_INPUT


FOLD_EPOCHS = 6
"""Epochs per fold for our recipes, one stage from scratch (the shipped recipe runs 32 + 10 + 10
and a soup): a trained row (4 folds) then takes 30-50 minutes of a 2-core CPU, the whole table
from nothing about 4 hours.
Every row of ours gets the same budget, so the rows compare recipes, not schedules."""

SHIPPED_RECIPE = Recipe(
    "shipped recipe (wide CNN, CCTV augmentation 0.6)", "maskwatch", DATASETS, FOLD_EPOCHS, augment=0.6
)
PAINTED_SMALL_FACES = Recipe(
    "painted masks + small faces", "maskwatch", DATASETS + PAINTED, FOLD_EPOCHS, augment=0.6, lowres=0.4
)
PAINTED_THIRD_WORN_WRONG = replace(
    PAINTED_SMALL_FACES, name="painted masks, a third of those worn wrong, + small faces", painted_wrong=1 / 3
)
PAINTED_NONE_WORN_WRONG = replace(
    PAINTED_SMALL_FACES, name="painted masks, none worn wrong, + small faces", painted_wrong=0.0
)
MAJORITY = ", bare only by majority"

RECIPES = (
    Recipe("thesis CNN (its network; 8 epochs, no augmentation, two classes)", "thesis", tuple(COLLECTIONS), 8),
    SHIPPED_RECIPE,
    replace(PAINTED_SMALL_FACES, name="painted masks + hue turns + small faces", hue=0.5),
    PAINTED_SMALL_FACES,
    PAINTED_THIRD_WORN_WRONG,
    PAINTED_NONE_WORN_WRONG,
    replace(SHIPPED_RECIPE, name="shipped recipe + hue turns", hue=0.5),  # colour alone, no painted masks
    # test-time rules: each tests its twin's networks (see _network_path)
    replace(PAINTED_SMALL_FACES, name=PAINTED_SMALL_FACES.name + ", mirror averaged", flip=True),
    replace(SHIPPED_RECIPE, name="shipped recipe" + MAJORITY, bare_by_majority=True),
    replace(PAINTED_THIRD_WORN_WRONG, name=PAINTED_THIRD_WORN_WRONG.name + MAJORITY, bare_by_majority=True),
    replace(PAINTED_NONE_WORN_WRONG, name=PAINTED_NONE_WORN_WRONG.name + MAJORITY, bare_by_majority=True),
)
MODELS_DIR = REPO_ROOT / ".cache" / "crossval-models"
"""Each fold's trained network, kept so that recipes differing only at test time (``flip``)
train once. Not committed: the figures are, and the networks can be trained again."""


RESULTS_VERSION = 1
"""Raised when the painting, the augmentation or the metrics change, so that a resumed run
trains again instead of mixing old folds with new ones."""


def _slug(text: str) -> str:
    """A file name for a recipe: its whole name, so two recipes never share one."""
    return re.sub(r"_+", "_", "".join(c if c.isalnum() else "_" for c in text)).strip("_").lower()


def _arrays(
    datasets: list[str], size: int, limit: int | None, painted_wrong: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    parts = []
    for d in datasets:
        for p in PARTS:
            x, y = load_arrays(d, p, size, limit)
            parts.append(thin_painted_wrong(x, y, painted_wrong) if d in PAINTED else (x, y))
    return concat_arrays(parts)


def fold_data(
    recipe: Recipe, held_out: str, limit: int | None
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """``(train x, y), (test x, y, crop widths)`` of one fold; every split of each collection."""
    kept = [d for c in COLLECTIONS if c != held_out for d in collection_datasets(c, recipe.datasets)]
    train = _arrays(kept, recipe.size, limit, recipe.painted_wrong)
    if recipe.arch == "thesis":  # two classes: the thesis never saw a mask worn wrong
        binary = train[1] < LABEL_INDEX["incorrect_mask"]
        train = (train[0][binary], train[1][binary])
    test_x, test_y = _arrays([held_out], recipe.size, limit)
    widths = np.concatenate([crop_widths(held_out, p, limit) for p in PARTS])
    if len(widths) != len(test_y):
        raise ValueError(f"{held_out}: {len(widths)} crop widths for {len(test_y)} faces")
    return train, (test_x, test_y, widths)


def train_recipe(recipe: Recipe, x: np.ndarray, y: np.ndarray, seed: int, epochs: int) -> Any:
    """A Keras model trained on ``x, y`` by ``recipe``; the last epoch is kept (no val to peek at)."""
    import keras

    from models.mask.augment import cctv_dataset, plain_dataset
    from models.mask.train import compile_ours

    keras.utils.set_random_seed(seed)
    verbose = 2
    if recipe.arch == "thesis":
        model = thesis_cnn()
        model.fit(plain_dataset(x, y, 32, shuffle=True, seed=seed), epochs=epochs, verbose=verbose)
        return model
    model = maskwatch_cnn(len(LABELS), recipe.size)
    compile_ours(model, len(x), 32, epochs, recipe.peak_lr)
    ds = cctv_dataset(x, y, recipe.size, 32, seed=seed, strength=recipe.augment, lowres=recipe.lowres, hue=recipe.hue)
    weights = {i: float(w) for i, w in enumerate(class_weights(y))}
    model.fit(ds, epochs=epochs, class_weight=weights, verbose=verbose)
    return model


def fold_metrics(truth: np.ndarray, pred: np.ndarray, widths: np.ndarray) -> dict[str, Any]:
    """Accuracy (three classes where the collection has the third, else masked / unmasked as the
    daemon alerts), masked and unmasked recall, accuracy by face width, incorrect_mask P / R."""
    with_, without, incorrect = (LABEL_INDEX[k] for k in ("with_mask", "without_mask", "incorrect_mask"))
    three = bool((truth == incorrect).any())
    right = truth == pred if three else (truth == without) == (pred == without)
    out: dict[str, Any] = {"n": int(len(truth)), "accuracy": float(right.mean()), "three_classes": three}
    masked, bare = truth == with_, truth == without
    out["masked_recall"] = float((pred[masked] != without).mean()) if masked.any() else None
    out["unmasked_recall"] = float((pred[bare] == without).mean()) if bare.any() else None
    out["masked_n"], out["unmasked_n"] = int(masked.sum()), int(bare.sum())
    out["by_width"] = {}
    for low, high, label in WIDTH_BINS:
        inside = (widths >= low) & (widths < high)
        out["by_width"][label] = {
            "n": int(inside.sum()),
            "accuracy": float(right[inside].mean()) if inside.any() else None,
        }
    if three:
        out["incorrect_mask"] = incorrect_mask_figures(truth, pred)
    return out


def _probabilities(model: Any, x: np.ndarray, flip: bool = False) -> np.ndarray:
    from models.mask.augment import plain_dataset

    def probabilities(images: np.ndarray) -> np.ndarray:
        return np.asarray(model.predict(plain_dataset(images, np.zeros(len(images), np.int64), 64), verbose=0))

    p = probabilities(x)
    if flip:
        p = (p + probabilities(x[:, :, ::-1])) / 2
    return p


def labels_of(p: np.ndarray, bare_by_majority: bool) -> np.ndarray:
    """The label index per face under a recipe's test-time rule."""
    return decide(p) if bare_by_majority else np.asarray(p.argmax(1))


PAIRED = ("accuracy", "masked_recall", "unmasked_recall")
"""What a bare-by-majority fold also records under the plain argmax of the same network."""
BARE_BARS = (0.5, 0.6, 0.7, 0.8, 0.9)
"""The bars on p(without_mask) a bare-by-majority fold also tests its network at (``decide``'s
``bare_at``): where to call a face bare is chosen on unseen collections, as the recipes are."""


def _network_path(
    recipe: Recipe, held_out: str, seed: int, limit: int | None, epochs: int, networks: Path = MODELS_DIR
) -> Path:
    """Where one fold's network is kept: named by everything that shapes its training."""
    trained = {k: v for k, v in asdict(recipe).items() if k not in ("name", "flip", "bare_by_majority")}
    key = [trained, list(COLLECTIONS), RESULTS_VERSION]
    digest = hashlib.sha1(json.dumps(key, sort_keys=True).encode()).hexdigest()[:12]
    return networks / f"{digest}.{held_out}.e{epochs}.s{seed}{'' if limit is None else f'.l{limit}'}.keras"


def run_fold(
    recipe: Recipe, held_out: str, seed: int, limit: int | None, epochs: int, networks: Path = MODELS_DIR
) -> dict[str, Any]:
    train, (test_x, test_y, widths) = fold_data(recipe, held_out, limit)
    print(f"[{recipe.name}] held out {held_out}: {len(train[1])} training faces, {len(test_y)} test faces", flush=True)
    started = time.time()
    kept = _network_path(recipe, held_out, seed, limit, epochs, networks)
    reused = kept.exists()
    if reused:  # the same training under another test-time rule
        import keras

        model = keras.models.load_model(kept, compile=False)
    else:
        model = train_recipe(recipe, *train, seed, epochs)
        kept.parent.mkdir(parents=True, exist_ok=True)
        partial = kept.with_name(f"{kept.stem}.partial.keras")  # a stopped run leaves no half-written network
        model.save(partial)
        partial.replace(kept)
    p = _probabilities(model, test_x, recipe.flip)
    labels = labels_of(p, recipe.bare_by_majority)
    metrics = fold_metrics(test_y, labels, widths)
    if recipe.bare_by_majority:  # paired: the same network under argmax (a retrained one moves 2-5 points)
        argmax = labels_of(p, False)
        plain = fold_metrics(test_y, argmax, widths)
        metrics["argmax"] = {k: plain[k] for k in PAIRED}
        metrics["relabelled"] = int((labels != argmax).sum())
        metrics["by_bare_bar"] = {}
        for bar in BARE_BARS:
            at_bar = fold_metrics(test_y, decide(p, bare_at=bar), widths)
            metrics["by_bare_bar"][f"{bar:.2f}"] = {k: at_bar[k] for k in PAIRED} | {
                "< 40 px": at_bar["by_width"]["< 40 px"]["accuracy"]
            }
    metrics.update(
        train_n=int(len(train[1])), minutes=round((time.time() - started) / 60, 1), epochs=epochs, reused=reused
    )
    return metrics


def cross_collection(
    write_report: bool = True,
    limit: int | None = None,
    epochs: int | None = None,
    seed: int = 0,
    fresh: bool = False,
    recipes: tuple[Recipe, ...] = RECIPES,
    out_dir: Path = RESULTS_DIR,
) -> dict[str, Any]:
    """Every recipe on every fold (resuming from ``out_dir``), the means, and the report.

    A quick run (``limit`` or ``epochs`` given) keeps its table apart (``table.e1.l12.json``)
    and never writes the report: its figures are not the recipes'."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from models.mask.train import configure_tensorflow

    configure_tensorflow(2)
    out_dir.mkdir(parents=True, exist_ok=True)
    networks = MODELS_DIR if out_dir == RESULTS_DIR else out_dir / "networks"
    if fresh:
        shutil.rmtree(networks, ignore_errors=True)
    done: dict[str, dict[str, Any]] = {recipe.name: {} for recipe in recipes}
    for held_out in COLLECTIONS:  # fold by fold, so a partial run still compares the recipes
        for recipe in recipes:
            run_epochs = epochs or recipe.epochs
            tag = f"{_slug(recipe.name)}.{held_out}.e{run_epochs}.s{seed}" + ("" if limit is None else f".l{limit}")
            path = out_dir / f"{tag}.json"
            recorded = json.loads(path.read_text()) if path.exists() and not fresh else {}
            same = _same_recipe(recorded.get("recipe"), recipe)
            if same and recorded.get("version") == RESULTS_VERSION:
                done[recipe.name][held_out] = recorded["metrics"]
                continue
            metrics = run_fold(recipe, held_out, seed, limit, run_epochs, networks)
            record = {"version": RESULTS_VERSION, "recipe": asdict(recipe), "metrics": metrics}
            path.write_text(json.dumps(record, indent=1))
            print(json.dumps({"recipe": recipe.name, "held_out": held_out, **metrics}), flush=True)
            done[recipe.name][held_out] = metrics
    table = {
        r.name: {"folds": done[r.name], "mean": _means(done[r.name]), "epochs": epochs or r.epochs} for r in recipes
    }
    results = {"seed": seed, "limit": limit, "epochs": epochs, "recipes": table}
    quick = "".join(f".{k}{v}" for k, v in (("e", epochs), ("l", limit)) if v is not None)
    (out_dir / f"table{quick}.json").write_text(json.dumps(results, indent=1))
    if write_report and not quick:
        _write_report(results)
    print(json.dumps({name: row["mean"] for name, row in table.items()}, indent=1))
    return results


def _same_recipe(recorded: dict[str, Any] | None, recipe: Recipe) -> bool:
    """Compared as JSON; a field a record predates counts as its default (adding a field with
    a default that keeps the old behaviour does not retrain the recorded folds)."""
    if recorded is None:
        return False
    defaults = {f.name: f.default for f in fields(Recipe) if f.default is not MISSING}
    return json.loads(json.dumps({**defaults, **recorded})) == json.loads(json.dumps(asdict(recipe)))


def _means(folds: dict[str, Any]) -> dict[str, float | None]:
    """Means over the folds that have such faces; by width pooled over faces (masks-det holds
    nearly all the small ones, and a fold with 17 of them must not weigh as much)."""
    out: dict[str, float | None] = {}
    for key in ("accuracy", "masked_recall", "unmasked_recall"):
        values = [f[key] for f in folds.values() if f[key] is not None]
        out[key] = float(np.mean(values)) if values else None
    # masks-worn's three-class accuracy (with_mask or worn wrong) moves the mean most; shown apart
    rest = [f["accuracy"] for name, f in folds.items() if name != "masks-worn"]
    out["accuracy_without_masks_worn"] = float(np.mean(rest)) if rest else None
    for _, _, label in WIDTH_BINS:
        bins = [f["by_width"][label] for f in folds.values() if f["by_width"][label]["accuracy"] is not None]
        faces = sum(b["n"] for b in bins)
        out[label] = sum(b["accuracy"] * b["n"] for b in bins) / faces if faces else None
    return out


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}"


def _write_report(results: dict[str, Any], report: Path = REPORT) -> None:
    recipes = results["recipes"]
    lines = [
        f"\n{MARKER}\n## Cross-collection validation (`maskwatch eval masks --cross-collection`, one run)\n",
        "Each collection held out in turn; every recipe trains on the others (every split) and is "
        "tested on all of the held-out one. Percent; accuracy is three-class where the collection has "
        "`incorrect_mask`, else masked / unmasked as the daemon alerts. A mirror-averaged row, or one "
        "calling a face bare only by majority, tests the networks of the row it names (its minutes "
        "are testing only, unless it trained them). "
        f"Seed {results['seed']}"
        + ("" if results["limit"] is None else f", {results['limit']} faces per split")
        + ".\n",
        "### Mean over the folds\n",
        "Each column averages the folds that have such faces (unmasked recall: three; masks-worn has no "
        "bare face); accuracy by width is pooled over the faces of every fold.\n",
        "| recipe | epochs | accuracy | accuracy, masks-worn aside | masked recall | unmasked recall | "
        + " | ".join(label for _, _, label in WIDTH_BINS)
        + " |",
        "| --- | --- | --- | --- | --- | --- | " + " | ".join("---" for _ in WIDTH_BINS) + " |",
    ]
    for name, row in recipes.items():
        m = row["mean"]
        lines.append(
            f"| {name} | {row['epochs']} | {_pct(m['accuracy'])} | {_pct(m['accuracy_without_masks_worn'])} | "
            f"{_pct(m['masked_recall'])} | "
            f"{_pct(m['unmasked_recall'])} | " + " | ".join(_pct(m[label]) for _, _, label in WIDTH_BINS) + " |"
        )
    lines += _paired_lines(recipes)
    lines += _bare_bar_lines(recipes)
    for held_out in COLLECTIONS:
        first = next(iter(recipes.values()))["folds"][held_out]
        lines += [
            f"\n### Held out: {held_out} ({first['n']} faces: {first['masked_n']} with_mask, "
            f"{first['unmasked_n']} without_mask, {first.get('incorrect_mask', {}).get('n', 0)} incorrect_mask)\n",
            "| recipe | training faces | accuracy | masked recall | unmasked recall | "
            + " | ".join(f"{label} (n)" for _, _, label in WIDTH_BINS)
            + " | incorrect_mask recall [95 % CI] | incorrect_mask precision [95 % CI] | minutes |",
            "| --- | --- | --- | --- | --- | " + " | ".join("---" for _ in WIDTH_BINS) + " | --- | --- | --- |",
        ]
        for name, row in recipes.items():
            f = row["folds"][held_out]
            widths = " | ".join(
                f"{_pct(f['by_width'][label]['accuracy'])} ({f['by_width'][label]['n']})" for _, _, label in WIDTH_BINS
            )
            inc = f.get("incorrect_mask")
            inc_r = inc_p = "-"
            if inc:
                inc_r = f"{_pct(inc['recall'])} [{_ci(inc['recall_ci'])}]"
                inc_p = f"{_pct(inc['precision'])} [{_ci(inc['precision_ci'])}]"
            lines.append(
                f"| {name} | {f['train_n']:,} | {_pct(f['accuracy'])} | {_pct(f['masked_recall'])} | "
                f"{_pct(f['unmasked_recall'])} | {widths} | {inc_r} | {inc_p} | {f['minutes']} |"
            )
    text = report.read_text() if report.exists() else ""
    before, comparison_marker, comparison = text.partition("<!-- comparison -->")
    head = before.split(MARKER)[0]  # the cross-collection section sits before the in-distribution one
    report.write_text(head.rstrip() + "\n" + "\n".join(lines) + "\n\n" + comparison_marker + comparison)


def _paired_lines(recipes: dict[str, Any]) -> list[str]:
    """Each bare-by-majority row against the plain argmax of its own networks, fold by fold."""
    paired = {name: row for name, row in recipes.items() if all("argmax" in f for f in row["folds"].values())}
    if not paired:
        return []
    lines = [
        "\n### Bare only by majority, paired with the argmax of the same networks\n",
        "Argmax -> majority. Per fold: accuracy, masked recall, unmasked recall, faces relabelled.\n",
        "| recipe | mean accuracy | " + " | ".join(COLLECTIONS) + " |",
        "| --- | --- | " + " | ".join("---" for _ in COLLECTIONS) + " |",
    ]
    for name, row in paired.items():
        folds = row["folds"]
        before = float(np.mean([folds[c]["argmax"]["accuracy"] for c in COLLECTIONS]))
        after = float(np.mean([folds[c]["accuracy"] for c in COLLECTIONS]))
        cells = []
        for c in COLLECTIONS:
            f = folds[c]
            moved = ", ".join(f"{_pct(f['argmax'][k])} -> {_pct(f[k])}" for k in PAIRED if f[k] is not None)
            cells.append(f"{moved}, {f['relabelled']} of {f['n']}")
        lines.append(f"| {name} | {_pct(before)} -> {_pct(after)} | " + " | ".join(cells) + " |")
    return lines


def _bare_bar_lines(recipes: dict[str, Any]) -> list[str]:
    """Each bare-by-majority row's networks at every bar on p(without_mask), averaged over the folds.

    Only rows whose every fold recorded the sweep: a fold recorded before it was measured is
    reused as it is (resuming never retrains), so its row is left out until it is run again."""
    swept = {name: row for name, row in recipes.items() if all("by_bare_bar" in f for f in row["folds"].values())}
    if not swept:
        return []
    lines = [
        "\n### Where a face is called bare: the bar on p(without_mask)\n",
        "The same networks with `without_mask` called only from each bar up (`workers.classifier.decide`, "
        "`bare_at`). Means over the folds that have such faces; then held-out masks-cls (close-up "
        "photos, the folds' hardest) and the scene crops (the daemon's kind of face).\n",
        "| recipe | bar | accuracy | balanced accuracy | masked recall | unmasked recall | < 40 px | "
        "masks-cls: masked, unmasked recall | masks-det: masked, unmasked recall |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, row in swept.items():
        folds = row["folds"]
        for bar in folds[COLLECTIONS[0]]["by_bare_bar"]:
            at = {c: folds[c]["by_bare_bar"][bar] for c in COLLECTIONS}
            means = [
                _pct(float(np.mean(vals))) if (vals := [a[k] for a in at.values() if a[k] is not None]) else "-"
                for k in PAIRED
            ]
            # balanced over the folds that hold both kinds of face: each error weighs alike
            both = [
                (a["masked_recall"] + a["unmasked_recall"]) / 2
                for a in at.values()
                if a["unmasked_recall"] is not None and a["masked_recall"] is not None
            ]
            means.insert(1, _pct(float(np.mean(both))) if both else "-")
            # pooled as the mean table pools widths: masks-det holds nearly all the small faces
            small = [(a["< 40 px"], folds[c]["by_width"]["< 40 px"]["n"]) for c, a in at.items()]
            faces = sum(n for v, n in small if v is not None)
            pooled = sum(v * n for v, n in small if v is not None) / faces if faces else None
            per_fold = [
                f"{_pct(at[c]['masked_recall'])}, {_pct(at[c]['unmasked_recall'])}" for c in ("masks-cls", "masks-det")
            ]
            lines.append(f"| {name} | {bar} | " + " | ".join([*means, _pct(pooled), *per_fold]) + " |")
    return lines


def _ci(ci: list[float] | tuple[float, float] | None) -> str:
    return "-" if ci is None else f"{100 * ci[0]:.0f}-{100 * ci[1]:.0f}"
