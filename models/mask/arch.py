"""The two mask-classifier architectures (Keras 3): the thesis baseline and ours.

Both take float32 RGB in [0, 1], NHWC, and end in a softmax, so one runtime serves both.
"""

from __future__ import annotations

from typing import Any

THESIS_INPUT = 128
MASKWATCH_INPUT = 64


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


def maskwatch_cnn(classes: int = 3) -> Any:
    """Ours: 64 px input, conv-BN-ReLU blocks, global average pooling, three classes.

    Faces on cameras are often 25-60 px, so a 64 px input loses little and costs a
    quarter of the thesis's pixels; batch norm and global pooling make it train fast
    from scratch and keep it small (about 0.5 M parameters).
    """
    import keras
    from keras import layers

    def block(x: Any, filters: int, convs: int) -> Any:
        for _ in range(convs):
            x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
            x = layers.BatchNormalization()(x)
            x = layers.ReLU()(x)
        return layers.MaxPooling2D(2)(x)

    inputs = keras.Input((MASKWATCH_INPUT, MASKWATCH_INPUT, 3))
    x = block(inputs, 32, 1)
    x = block(x, 64, 2)
    x = block(x, 128, 2)
    x = block(x, 192, 1)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(0.2)(x)
    outputs = layers.Dense(classes, activation="softmax")(x)
    model = keras.Model(inputs, outputs, name="maskwatch_cnn")
    return model
