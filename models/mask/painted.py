"""Masks of many kinds painted onto bare faces, worn right or pulled below the nose.

The training collections hold few respirators, few dark, red or patterned cloth masks and
almost no clear ones, and the sealed collection's errors are exactly those masks called
``without_mask``. ``../shared/datasets/mask-templates`` holds 21 mask images with alpha
(surgical in three colours, black cloth, N95 and KN95 respirators with printed text, an
elastomeric half-mask; frontal and turned) with six anchor points each, plus fabric
textures. YuNet's five landmarks on a bare face (eyes, nose tip, mouth corners) give the
same six points on the face; the template is warped onto it by the homography between
them and alpha-blended, recoloured, re-textured, lettered or made see-through first.
For ``incorrect_mask`` the upper anchors go below the nose tip (mask under the nose, on
the upper lip or on the chin).

Training-time only (YuNet is a teacher in ``../shared/weights``, never shipped).
"""

from __future__ import annotations

import configparser
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from models.face.teachers import YuNet
from models.shared_data import shared_dir

PAINT_VERSION = 1
"""Part of the array cache's key (``models.mask.data``): raise it when the painting changes."""
WORK_PX = 192
"""Side a face is scaled to for landmarks and painting; the result goes back to its own size."""
RECOLOURABLE = ("surgical", "cloth")
"""Template families whose colour and fabric vary in the wild; respirators keep theirs, mostly."""
TEXTS = ("N95", "KN95", "FFP2", "FFP3", "3M", "NIOSH", "STAFF", "SECURITY", "LOVE", "2020", "CE 0194")


@dataclass(frozen=True)
class MaskTemplate:
    name: str
    family: str
    side: str  # "front", "left" (the nose turned to the image's left) or "right"
    rgba: np.ndarray  # BGRA uint8
    anchors: np.ndarray  # (6, 2) float32: a, b, c, d, e, f in template pixels


def templates_dir() -> Path:
    return shared_dir() / "datasets" / "mask-templates"


@lru_cache(maxsize=1)
def mask_templates() -> tuple[MaskTemplate, ...]:
    """Every template of ``masks.cfg`` with its image; an unreadable one is an error."""
    base = templates_dir()
    cfg = configparser.ConfigParser()
    if not cfg.read(base / "masks.cfg"):
        raise OSError(f"cannot read {base / 'masks.cfg'}")
    out = []
    for name in cfg.sections():
        sec = cfg[name]
        if "template" not in sec:
            continue  # MaskTheFace's placeholders (empty, inpaint) have no image
        rgba = cv2.imread(str(base / sec["template"]), cv2.IMREAD_UNCHANGED)
        if rgba is None or rgba.ndim != 3 or rgba.shape[2] != 4:
            raise OSError(f"{base / sec['template']}: not an image with an alpha channel")
        points = [[float(v) for v in sec[f"mask_{k}"].split(",")] for k in "abcdef"]
        side = "left" if name.endswith("_left") else "right" if name.endswith("_right") else "front"
        family = name.split("_")[0]
        out.append(MaskTemplate(name, family, side, rgba, np.array(points, dtype=np.float32)))
    return tuple(out)


@lru_cache(maxsize=1)
def fabric_textures() -> tuple[np.ndarray, ...]:
    paths = sorted((templates_dir() / "textures").rglob("*.jpg"))
    images = [cv2.imread(str(p)) for p in paths]
    return tuple(i for i in images if i is not None)


@lru_cache(maxsize=1)
def _landmarker() -> YuNet:
    return YuNet(score=0.5, top_k=50)  # one face a crop: the 50 best candidates are plenty


def face_landmarks(work: np.ndarray) -> np.ndarray | None:
    """Eyes, nose tip, mouth corners ``(5, 2)`` of the largest confident face in ``work``
    (BGR, ``WORK_PX`` square), eyes and mouth corners each ordered left to right; or None."""
    lm = _landmarker().landmarks(work)
    if lm is None:
        return None
    eyes = lm[:2][np.argsort(lm[:2, 0])]
    mouth = lm[3:][np.argsort(lm[3:, 0])]
    return np.vstack([eyes, lm[2:3], mouth])


def face_anchors(lm: np.ndarray, lowered: float | None) -> tuple[np.ndarray, float]:
    """The six template points on a face from its landmarks, and its yaw.

    Proportions of an average face in eye distances ``d`` below the eyes: nose tip ~0.75,
    mouth ~1.1, chin ~1.85; face half-width ~1.05 d at the nose. ``lowered``: a mask pulled
    down, its top edge this many nose-to-mouth distances below the nose tip.
    """
    eye_l, eye_r, nose, mouth_l, mouth_r = lm
    across = eye_r - eye_l
    d = float(np.hypot(*across))
    ex = across / max(d, 1e-3)
    ey = np.array([-ex[1], ex[0]], dtype=np.float32)
    eyes = (eye_l + eye_r) / 2
    mouth = (mouth_l + mouth_r) / 2
    yaw = float(np.dot(nose - eyes, ex)) / max(d, 1e-3)
    nose_down = max(float(np.dot(nose - eyes, ey)), 0.4 * d)
    mouth_down = max(float(np.dot(mouth - eyes, ey)), nose_down + 0.2 * d)
    chin_down = max(1.7 * mouth_down, mouth_down + 0.55 * d)
    top = 0.5 * nose_down
    if lowered is not None:
        top = nose_down + lowered * (mouth_down - nose_down)
        chin_down += 0.5 * (top - 0.5 * nose_down)  # the mask slides down the chin too
    jaw = top + 0.6 * (chin_down - top)
    half = 1.05 * d
    shift = float(np.dot(mouth - eyes, ex))  # the chin follows the mouth when the head turns

    def at(down: float, across_: float) -> np.ndarray:
        return eyes + ey * down + ex * across_

    bridge = at(top, yaw * d * (top / max(nose_down, 1e-3)))
    points = [
        at(top, -half),
        bridge,
        at(top, half),
        at(jaw, -0.85 * half + 0.5 * shift),
        at(chin_down, shift),
        at(jaw, 0.85 * half + 0.5 * shift),
    ]
    return np.array(points, dtype=np.float32), yaw


def _styled(template: MaskTemplate, rng: np.random.Generator) -> np.ndarray:
    """The template's BGRA with a new colour, fabric, lettering or transparency."""
    rgba = template.rgba.copy()
    bgr = rgba[..., :3].astype(np.float32)
    alpha = rgba[..., 3].astype(np.float32) / 255.0
    inside = alpha > 0.5
    luma = cv2.cvtColor(rgba[..., :3], cv2.COLOR_BGR2GRAY).astype(np.float32)
    shade = luma / max(float(luma[inside].mean()) if inside.any() else 128.0, 1.0)
    roll = rng.random()
    recolourable = template.family in RECOLOURABLE
    if recolourable and roll < 0.35:  # a fabric print
        textures = fabric_textures()
        tex = textures[int(rng.integers(len(textures)))]
        h, w = rgba.shape[:2]
        zoom = rng.uniform(0.3, 1.0)
        tex = cv2.resize(tex, (max(8, int(w * zoom)), max(8, int(h * zoom * w / max(h, 1) * h / w))))
        reps = (int(np.ceil(h / tex.shape[0])) + 1, int(np.ceil(w / tex.shape[1])) + 1, 1)
        tiled = np.tile(tex, reps)[:h, :w].astype(np.float32)
        bgr = tiled * np.clip(shade, 0.3, 1.4)[..., None]
    elif (recolourable and roll < 0.8) or (not recolourable and roll < 0.3):  # any solid colour
        hsv = np.zeros((1, 1, 3), np.uint8)
        hsv[0, 0] = (int(rng.integers(180)), int(rng.integers(0, 256)), int(rng.integers(20, 256)))
        colour = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0, 0].astype(np.float32)
        base = colour[None, None, :] * np.clip(shade, 0.3, 1.4)[..., None]
        keep = 0.0 if recolourable else 0.5  # respirators keep their straps and valves half visible
        bgr = base * (1 - keep) + bgr * keep
    if rng.random() < 0.2:  # printed text
        h, w = rgba.shape[:2]
        text = TEXTS[int(rng.integers(len(TEXTS)))]
        scale = w / 260.0 * rng.uniform(0.7, 1.3)
        ink = (0.0, 0.0, 0.0) if rng.random() < 0.6 else tuple(float(v) for v in rng.integers(0, 256, 3))
        org = (int(w * rng.uniform(0.2, 0.45)), int(h * rng.uniform(0.45, 0.7)))
        canvas = np.clip(bgr, 0, 255).astype(np.uint8)
        cv2.putText(canvas, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, ink, max(1, int(scale * 2)), cv2.LINE_AA)
        bgr = np.where(inside[..., None], canvas.astype(np.float32), bgr)
    if rng.random() < 0.08:  # a clear plastic mask or shield: the face shows through, the rim does not
        solid = (alpha > 0.5).astype(np.uint8)
        rim_px = max(2, rgba.shape[1] // 60)
        rim = solid - cv2.erode(solid, np.ones((rim_px, rim_px), np.uint8), iterations=2)
        alpha = np.where(rim > 0, 0.9, alpha * rng.uniform(0.4, 0.65))
        bgr = np.where(rim[..., None] > 0, 120.0, bgr * 0.3 + 210.0 * 0.7)
    out = np.dstack([np.clip(bgr, 0, 255), alpha * 255.0]).astype(np.uint8)
    return out


def paint_mask(face: np.ndarray, rng: np.random.Generator, lowered: bool) -> np.ndarray | None:
    """``face`` (a bare face crop, BGR) wearing a random mask; None where no face is found.

    ``lowered``: worn wrong (top edge below the nose tip), else worn right over the nose.
    """
    h, w = face.shape[:2]
    work = cv2.resize(face, (WORK_PX, WORK_PX), interpolation=cv2.INTER_CUBIC)
    lm = face_landmarks(work)
    if lm is None:
        return None
    drop = float(rng.uniform(0.15, 1.6)) if lowered else None
    dst, yaw = face_anchors(lm, drop)
    side = "left" if yaw < -0.12 else "right" if yaw > 0.12 else "front"
    choices = [t for t in mask_templates() if t.side == side] or list(mask_templates())
    template = choices[int(rng.integers(len(choices)))]
    styled = _styled(template, rng)
    homography, _ = cv2.findHomography(template.anchors, dst, 0)
    if homography is None:
        return None
    size = (WORK_PX, WORK_PX)
    warped = cv2.warpPerspective(styled, homography, size, flags=cv2.INTER_AREA, borderValue=(0, 0, 0, 0))
    sharp = warped[..., 3].astype(np.float32) / 255.0
    alpha = np.asarray(cv2.GaussianBlur(sharp, (0, 0), rng.uniform(0.5, 1.4)), dtype=np.float32)[..., None]
    if float(alpha.mean()) < 0.03:
        return None  # the mask fell outside the crop
    # the face's light on the mask: the crop's mean brightness against a mid grey
    gain = np.clip(float(work.mean()) / 128.0 * rng.uniform(0.85, 1.15), 0.45, 1.3)
    paint = np.clip(warped[..., :3].astype(np.float32) * gain, 0, 255)
    out = work.astype(np.float32) * (1.0 - alpha) + paint * alpha
    interp = cv2.INTER_AREA if min(h, w) < WORK_PX else cv2.INTER_LINEAR
    return cv2.resize(out.astype(np.uint8), (w, h), interpolation=interp)
