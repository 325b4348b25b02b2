"""Masks pasted onto real bare faces, worn right or pulled down, aligned by face landmarks.

``models.mask.lowered`` pulls masks down on the ``masks-cls-synthetic`` faces themselves:
clean, frontal, tight crops, unlike camera faces. Here the same pasted masks go onto the
real unmasked faces of ``masks-det`` (cut with the daemon's crop policy: small, blurred,
side-on) and of ``masks-cls``. YuNet's five landmarks on the pair's bare face and on the
target give the similarity transform between them. Each target gets the mask either where
the pair had it (``with_mask``) or moved down so that its top edge sits below the nose tip,
between nose and mouth or under the mouth (``incorrect_mask``): both labels are pasted
masks on the same faces, so only where the mask sits tells them apart.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

import cv2
import numpy as np

from models.mask.lowered import pasted_mask

if TYPE_CHECKING:
    from models.face.teachers import YuNet

WORK_PX = 160
"""Side the target is scaled to for landmarks and pasting; the result goes back to its own size."""
BELOW_NOSE = (0.15, 1.3)
"""Where the lowered mask's top edge goes, in nose-to-mouth distances below the nose tip."""
GAIN_RANGE = (0.6, 1.4)


@lru_cache(maxsize=1)
def _landmarker() -> YuNet:
    from models.face.teachers import YuNet

    return YuNet(score=0.5)


def face_landmarks(image: np.ndarray) -> np.ndarray | None:
    """Five (x, y) landmarks of the largest confident face, scaled to ``image``; None if none."""
    h, w = image.shape[:2]
    work = cv2.resize(image, (WORK_PX, WORK_PX), interpolation=cv2.INTER_CUBIC)
    found = _landmarker().landmarks(work)
    if found is None:
        return None
    return found * np.array([w / WORK_PX, h / WORK_PX], dtype=np.float32)


def paste_mask(
    target: np.ndarray, masked: np.ndarray, bare: np.ndarray, lowered: bool, rng: np.random.Generator
) -> np.ndarray | None:
    """``target`` (a bare face, BGR) wearing the pair's mask; None where a face or mask is not found."""
    region = pasted_mask(masked, bare)
    src = face_landmarks(bare)
    h, w = target.shape[:2]
    work = cv2.resize(target, (WORK_PX, WORK_PX), interpolation=cv2.INTER_CUBIC)
    dst = face_landmarks(work)
    if region is None or src is None or dst is None:
        return None
    if lowered:
        nose_y, mouth_y = src[2, 1], src[3:, 1].mean()
        top = int(np.flatnonzero(region.any(axis=1))[0])
        drop = int(round(nose_y - top + rng.uniform(*BELOW_NOSE) * max(mouth_y - nose_y, 1.0)))
        if not 1 <= drop < region.shape[0]:
            return None
        # on a canvas grown downwards, so the part that leaves the pair's crop is kept
        masked = np.vstack([np.zeros_like(masked[:drop]), masked])
        region = np.vstack([np.zeros_like(region[:drop]), region])
    transform, _ = cv2.estimateAffinePartial2D(src, dst)
    if transform is None:
        return None
    size = (WORK_PX, WORK_PX)
    mask_px = cv2.warpAffine(masked, transform, size, flags=cv2.INTER_AREA).astype(np.float32)
    alpha = cv2.warpAffine(region.astype(np.float32), transform, size, flags=cv2.INTER_LINEAR)
    alpha = cv2.GaussianBlur(alpha, (0, 0), rng.uniform(0.6, 1.6))[..., None]
    # the target's light on the pasted mask: its mean brightness against the pair's bare face
    gain = np.clip(work.mean() / max(float(bare.mean()), 1.0), *GAIN_RANGE)
    out = work * (1.0 - alpha) + np.clip(mask_px * gain, 0, 255) * alpha
    interp = cv2.INTER_AREA if min(h, w) < WORK_PX else cv2.INTER_LINEAR
    return cv2.resize(out.astype(np.uint8), (w, h), interpolation=interp)
