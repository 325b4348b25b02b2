"""The two mask-classifier architectures (Keras 3): the thesis baseline and ours.

Both take float32 RGB in [0, 1], NHWC, and end in a softmax, so one runtime serves both.
"""

from __future__ import annotations

from typing import Any

THESIS_INPUT = 128
MASKWATCH_INPUT = 64
"""Faces on cameras are mostly 25-60 px; 96 px was measured and gained nothing."""


def thesis_cnn() -> Any:
    """The seed thesis CNN exactly: 363,906 parameters, two classes."""
    import keras
    from keras import layers

    model = keras.Sequential(
        [
            keras.Input((THESIS_INPUT, THESIS_INPUT, 3)),
            layers.Conv2D(32, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(3),
            layers.Conv2D(64, 3, padding="valid", activation="relu"),
            layers.MaxPooling2D(3),
            layers.Conv2D(128, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(3),
            layers.Flatten(),
            layers.Dense(128, activation="relu"),
            layers.Dropout(0.5),
            layers.Dense(64, activation="relu"),
            layers.Dropout(0.5),
            layers.Dense(2, activation="softmax"),
        ],
        name="thesis_cnn",
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


LAYOUTS = {
    # (filters, convs) per block, each block ending in a 2x2 max-pool; then an optional head conv
    "compact": ([(32, 1), (64, 2), (128, 2), (192, 1)], 0),
    "wide": ([(32, 1), (64, 2), (128, 2), (256, 2)], 384),
}


def maskwatch_cnn(classes: int = 3, size: int = MASKWATCH_INPUT, width: float = 1.0, layout: str = "wide") -> Any:
    """Ours: conv-BN-ReLU blocks, global average pooling, three classes.

    Global pooling makes the weights independent of the input size. Batch norm makes it
    train fast from scratch. ``compact`` (0.5 M parameters) underfits masks-cls (97.5 %
    of its own training images); ``wide`` adds capacity where it is cheap, at 8x8 and
    4x4 (2.1 M parameters, 1.5x the FLOPs).
    """
    import keras
    from keras import layers

    def conv(x: Any, filters: int) -> Any:
        x = layers.Conv2D(round(filters * width), 3, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        return layers.ReLU()(x)

    blocks, head = LAYOUTS[layout]
    inputs = keras.Input((size, size, 3))
    x = inputs
    for filters, convs in blocks:
        for _ in range(convs):
            x = conv(x, filters)
        x = layers.MaxPooling2D(2)(x)
    if head:
        x = conv(x, head)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(0.2)(x)
    outputs = layers.Dense(classes, activation="softmax")(x)
    return keras.Model(inputs, outputs, name="maskwatch_cnn")
