"""Augmentation that makes clean face photos look like CCTV crops (tf.data, vectorised).

Per image: JPEG re-compression. Per batch: random zoom/shift crops, flips, small
rotations, down-and-up scaling (a face 16 px tall and up, upscaled), Gaussian blur, sensor
noise, brightness/contrast, colour (saturation, swapped channels: masks come in every
colour and pattern) and a grayscale "IR night" look.
"""

from __future__ import annotations

from typing import Any


def cctv_dataset(
    x: Any,
    y: Any,
    size: int,
    batch: int,
    seed: int = 0,
    strength: float = 1.0,
    lowres: float | None = None,
    hue: float = 0.0,
) -> Any:
    """``strength`` scales how often and how hard each effect hits (1: from scratch).

    ``lowres``: the share of batches scaled down and up again (default ``0.35 * strength``).
    ``hue``: the share of images whose hue is turned by a random angle, so that no mask
    colour (nor skin colour) can stand for a class.
    """
    import tensorflow as tf

    s = float(strength)
    lowres_share = 0.35 * s if lowres is None else float(lowres)

    rotate = tf.keras.layers.RandomRotation(0.04 * s, fill_mode="reflect", seed=seed)

    def jpeg(img: Any, label: Any) -> tuple[Any, Any]:
        img = tf.cond(
            tf.random.uniform(()) < 0.5 * s,
            lambda: tf.image.random_jpeg_quality(img, 15, 85),
            lambda: img,
        )
        return img, label

    def batch_aug(img: Any, label: Any) -> tuple[Any, Any]:
        img = tf.cast(img, tf.float32) / 255.0
        n = tf.shape(img)[0]
        scale = tf.random.uniform((n, 1), 1.0 - 0.18 * s, 1.0)
        off_y = tf.random.uniform((n, 1), 0.0, 1.0) * (1.0 - scale)
        off_x = tf.random.uniform((n, 1), 0.0, 1.0) * (1.0 - scale)
        boxes = tf.concat([off_y, off_x, off_y + scale, off_x + scale], axis=1)
        img = tf.image.crop_and_resize(img, boxes, tf.range(n), (size, size))
        img = tf.image.random_flip_left_right(img)
        img = rotate(img, training=True)
        low = tf.random.uniform((), 16, size + 1, dtype=tf.int32)
        img = tf.cond(
            tf.random.uniform(()) < lowres_share,
            lambda: tf.image.resize(tf.image.resize(img, (low, low), "area"), (size, size), "bilinear"),
            lambda: img,
        )
        if hue > 0:
            hsv = tf.image.rgb_to_hsv(tf.clip_by_value(img, 0.0, 1.0))
            turned = tf.math.floormod(hsv[..., :1] + tf.random.uniform((n, 1, 1, 1)), 1.0)
            rotated = tf.image.hsv_to_rgb(tf.concat([turned, hsv[..., 1:]], axis=-1))
            img = tf.where(tf.random.uniform((n, 1, 1, 1)) < hue, rotated, img)
        sigma = tf.random.uniform((), 0.1, 1.6)
        k = tf.range(-2, 3, dtype=tf.float32)
        g = tf.exp(-(k**2) / (2 * sigma**2))
        g = g / tf.reduce_sum(g)
        kernel = tf.tile((g[:, None] * g[None, :])[:, :, None, None], [1, 1, 3, 1])
        img = tf.cond(
            tf.random.uniform(()) < 0.25 * s,
            lambda: tf.nn.depthwise_conv2d(img, kernel, [1, 1, 1, 1], "SAME"),
            lambda: img,
        )
        contrast = tf.random.uniform((n, 1, 1, 1), 1.0 - 0.4 * s, 1.0 + 0.4 * s)
        bright = tf.random.uniform((n, 1, 1, 1), -0.25 * s, 0.25 * s)
        mean = tf.reduce_mean(img, axis=[1, 2, 3], keepdims=True)
        img = (img - mean) * contrast + mean + bright
        gray = tf.image.grayscale_to_rgb(tf.image.rgb_to_grayscale(img))
        saturation = tf.random.uniform((n, 1, 1, 1), 1.0 - 0.5 * s, 1.0 + 0.5 * s)
        img = gray + (img - gray) * saturation
        swapped = tf.gather(img, tf.random.shuffle(tf.range(3)), axis=3)
        img = tf.where(tf.random.uniform((n, 1, 1, 1)) < 0.2 * s, swapped, img)
        use_gray = tf.random.uniform((n, 1, 1, 1)) < 0.15 * s
        img = tf.where(use_gray, gray, img)
        noise = tf.random.normal(tf.shape(img)) * tf.random.uniform((n, 1, 1, 1), 0.0, 0.05 * s)
        img = tf.clip_by_value(img + noise, 0.0, 1.0)
        return img, label

    ds = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    ds = ds.map(jpeg, num_parallel_calls=tf.data.AUTOTUNE)
    ds = ds.batch(batch).map(batch_aug, num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(2)


def plain_dataset(x: Any, y: Any, batch: int, shuffle: bool = False, seed: int = 0) -> Any:
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices((x, y))
    if shuffle:
        ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch).map(lambda a, b: (tf.cast(a, tf.float32) / 255.0, b))
    return ds.prefetch(2)
