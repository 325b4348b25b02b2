"""The naive loop of the popular mask-detection repositories, as the baseline.

Every frame is read and detected (OpenCV's res10 SSD through ``cv2.dnn``), and every face
is classified on its own with Keras ``model.predict``: no sampling, no batching, no motion
gate. Runs in its own process (TensorFlow). Prints one JSON line.

usage: python -m bench.naive CLIP SECONDS
"""

from __future__ import annotations

import json
import os
import sys
import time

import cv2
import numpy as np

from models.shared_data import REPO_ROOT, shared_dir


def main(clip: str, seconds: float) -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras

    model = keras.models.load_model(REPO_ROOT / "models" / "mask" / "thesis.keras")
    weights = shared_dir() / "weights" / "opencv_res10_ssd_tf"
    # readNet picks the TensorFlow importer from the .pb / .pbtxt pair; it is the entry point
    # every OpenCV release since 3.4 declares
    net = cv2.dnn.readNet(str(weights / "opencv_face_detector_uint8.pb"), str(weights / "opencv_face_detector.pbtxt"))
    cap = cv2.VideoCapture(clip)
    fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
    frames = faces = 0
    started = time.perf_counter()
    while frames / fps < seconds:
        ok, frame = cap.read()
        if not ok:
            cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
            continue
        frames += 1
        h, w = frame.shape[:2]
        net.setInput(cv2.dnn.blobFromImage(frame, 1.0, (300, 300), (104.0, 177.0, 123.0)))
        det = net.forward()
        for i in range(det.shape[2]):
            if det[0, 0, i, 2] < 0.5:
                continue
            x1, y1, x2, y2 = (det[0, 0, i, 3:7] * np.array([w, h, w, h])).astype(int)
            face = frame[max(0, y1) : y2, max(0, x1) : x2]
            if face.size == 0:
                continue
            x = cv2.resize(cv2.cvtColor(face, cv2.COLOR_BGR2RGB), (128, 128)).astype(np.float32) / 255.0
            model.predict(x[None], verbose=0)
            faces += 1
    wall = time.perf_counter() - started
    print(json.dumps({"video_s": frames / fps, "wall_s": wall, "frames": frames, "faces": faces}))


if __name__ == "__main__":
    main(sys.argv[1], float(sys.argv[2]))
