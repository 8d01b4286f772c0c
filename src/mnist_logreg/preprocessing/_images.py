"""Real images and array files as model input: the classical MNIST normalization.

MNIST digits were made from black-and-white scans by (Y. LeCun et al.): fitting the digit into a
20x20 box keeping its aspect ratio (with anti-aliasing, hence gray levels), then placing it in a
28x28 field so that its center of mass is at the center of the field. A photo, a scan or a canvas
drawing only looks like an MNIST digit to the model after the same steps, which
:func:`normalize_digit` applies to a grayscale array:

1. polarity: MNIST is light ink on a dark background. The background level is the median of the
   border pixels (the outer 5% frame); if it is in the brighter half of the image's range, the
   image is dark on light and is inverted (``v -> 255 - v``);
2. contrast: ``ink = (v - background) / (peak - background)`` clipped to [0, 1], so faint pencil
   and black marker give the same full-range digit (MNIST digits peak at 255);
3. crop to the ink's bounding box: pixels with ``ink > 0.25`` (relative to the range, so the
   threshold does not depend on the exposure; on MNIST's own digits the box found at this
   threshold is exactly the 20-pixel box of the original normalization);
4. scale the box so that its longer side is 20 pixels (``20/28`` of the target field for other
   image shapes), keeping the aspect ratio, with an area-averaging (anti-aliasing) filter when
   shrinking and a bicubic one when enlarging;
5. paste into the 28x28 field at the integer offset that puts the center of mass
   (:func:`scipy.ndimage.center_of_mass`) closest to ``(14, 14)``, where MNIST's centers of mass
   lie (mean 13.99, 14.00 over the test set), without sub-pixel blurring.

The result is ``uint8`` in 0..255, flattened to shape (784,), like a row of
``load_dataset("mnist").X_test``.

Array files (``.npy``, IDX) are taken as already normalized rows on the model's pixel scale
(0..pixel_max) and are only checked: shape, dtype, finite values in range.

Every problem raises :class:`~mnist_logreg.errors.InputError` with one line naming the file.
"""

from __future__ import annotations

import io
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError
from scipy import ndimage

from mnist_logreg.datasets import open_regular_file
from mnist_logreg.errors import InputError
from mnist_logreg.preprocessing._arrays import load_idx_images, load_npy_images

#: The field of an MNIST image, (rows, columns).
MNIST_IMAGE_SHAPE: tuple[int, int] = (28, 28)
#: Images with more pixels than this are refused before they are decoded (decompression bombs).
DEFAULT_MAX_IMAGE_PIXELS = 40_000_000
#: Decoded pictures are shrunk (integer box factor) to at most this many pixels a side.
MAX_WORKING_SIDE = 1024
#: JPEGs with more scans (start-of-scan markers) are refused before decoding: each progressive
#: scan is a pass over the whole picture (about 4 ms at 4 megapixels), a cheap way to burn CPU.
MAX_JPEG_SCANS = 100

_BOX_FRACTION = 20.0 / 28.0  # MNIST: a 20x20 box in a 28x28 field
_INK_THRESHOLD = 0.25  # relative to the range background..peak
_MIN_CONTRAST = 8.0  # gray levels (of 255) between background and peak; less is a blank image
_BORDER_FRACTION = 0.05
_MAGIC_KINDS = (
    (b"\x93NUMPY", "npy"),
    (b"\x1f\x8b", "idx"),  # gzip
    (b"\x00\x00", "idx"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"PK\x03\x04", "zip"),
)


def _check_image_shape(image_shape: Any) -> tuple[int, int]:
    try:
        shape = tuple(int(d) for d in image_shape)
    except (TypeError, ValueError):
        raise InputError(f"image_shape must be (rows, columns). Got {image_shape!r}.") from None
    if len(shape) != 2 or min(shape) < 4:
        raise InputError(
            f"images can only be normalized for 2-D image shapes of at least 4x4; "
            f"the model expects images of shape {tuple(image_shape)}"
        )
    return shape  # type: ignore[return-value]


def image_to_gray(image: Image.Image) -> np.ndarray:
    """Return an image's gray levels, transparency composited on white.

    Parameters
    ----------
    image : PIL.Image.Image
        Any mode: 1, L, P, RGB, RGBA, LA, CMYK, I;16, I, F, ...

    Returns
    -------
    gray : ndarray of shape (height, width), float64
        Gray levels on the 0..255 scale (ITU-R 601 luma for color images). 16-bit and float images
        are rescaled from their own range to 0..255.
    """
    return _gray(ImageOps.exif_transpose(image))


def _gray(image: Image.Image) -> np.ndarray:
    """Gray levels of an image already in its display orientation (see image_to_gray)."""
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
        values = np.asarray(image, dtype=np.float64)
        finite = values[np.isfinite(values)]
        if finite.size == 0:
            return np.zeros(values.shape, dtype=np.float64)
        lo, hi = float(finite.min()), float(finite.max())
        values = np.nan_to_num(values, nan=lo, posinf=hi, neginf=lo)
        if hi - lo <= 0:
            return np.zeros(values.shape, dtype=np.float64)
        return (values - lo) * (255.0 / (hi - lo))
    if _has_alpha(image):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, rgba)
    return np.asarray(image.convert("L"), dtype=np.float64)


def _border(gray: np.ndarray) -> np.ndarray:
    rows, cols = gray.shape
    width = max(1, round(_BORDER_FRACTION * min(rows, cols)))
    mask = np.ones(gray.shape, dtype=bool)
    if rows > 2 * width and cols > 2 * width:
        mask[width:-width, width:-width] = False
    return gray[mask]


def _resize(ink: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize a float image to ``size`` = (rows, columns), antialiased."""
    rows, cols = size
    shrinking = rows <= ink.shape[0] and cols <= ink.shape[1]
    method = Image.Resampling.BOX if shrinking else Image.Resampling.BICUBIC
    resized = Image.fromarray(ink.astype(np.float32), mode="F").resize((cols, rows), method)
    return np.clip(np.asarray(resized, dtype=np.float64), 0.0, 1.0)


def normalize_digit(
    gray: np.ndarray,
    *,
    image_shape: tuple[int, int] = MNIST_IMAGE_SHAPE,
    name: str = "image",
) -> np.ndarray:
    """Turn a grayscale picture of one digit into an MNIST-style image.

    Parameters
    ----------
    gray : array-like of shape (height, width)
        Gray levels on the 0..255 scale, either polarity (light ink on dark, or dark on light).
    image_shape : (int, int), default=(28, 28)
        The model's image field; the digit's box is ``20/28`` of it.
    name : str, default="image"
        How to name the input in error messages (a file name).

    Returns
    -------
    pixels : ndarray of shape (rows * columns,), uint8
        Light ink on black, 0..255, centered by center of mass (see the module docstring).

    Raises
    ------
    InputError
        If the picture is not 2-D or holds no ink (a blank or nearly uniform picture).
    """
    rows, cols = _check_image_shape(image_shape)
    gray = np.asarray(gray, dtype=np.float64)
    if gray.ndim != 2 or min(gray.shape) < 1:
        raise InputError(f"{name}: expected a 2-D grayscale image, got shape {gray.shape}")
    if not np.all(np.isfinite(gray)):
        raise InputError(f"{name}: the image holds NaN or infinite values")
    lo, hi = float(gray.min()), float(gray.max())
    if hi - lo < _MIN_CONTRAST:
        raise InputError(f"{name}: no digit found (the image is blank or uniform)")
    background = float(np.median(_border(gray)))
    if background > (lo + hi) / 2:  # dark ink on a light background: invert
        gray = 255.0 - gray
        background = 255.0 - background
        lo, hi = 255.0 - hi, 255.0 - lo
    if hi - background < _MIN_CONTRAST:
        raise InputError(f"{name}: no digit found (no ink stands out from the background)")
    ink = np.subtract(gray, background)
    ink /= hi - background
    np.clip(ink, 0.0, 1.0, out=ink)
    inked = ink > _INK_THRESHOLD
    ink_rows = np.flatnonzero(inked.any(axis=1))
    ink_cols = np.flatnonzero(inked.any(axis=0))
    del inked
    top, bottom = int(ink_rows[0]), int(ink_rows[-1]) + 1
    left, right = int(ink_cols[0]), int(ink_cols[-1]) + 1
    crop = ink[top:bottom, left:right]

    box_rows = max(1, round(_BOX_FRACTION * rows))
    box_cols = max(1, round(_BOX_FRACTION * cols))
    factor = min(box_rows / crop.shape[0], box_cols / crop.shape[1])
    new_rows = min(box_rows, max(1, round(crop.shape[0] * factor)))
    new_cols = min(box_cols, max(1, round(crop.shape[1] * factor)))
    digit = _resize(crop, (new_rows, new_cols))
    if digit.sum() <= 0:
        raise InputError(f"{name}: no digit found (the ink vanished when scaled)")

    center_row, center_col = ndimage.center_of_mass(digit)
    offset_row = round(rows / 2 - center_row)
    offset_col = round(cols / 2 - center_col)
    # keep the whole box inside the field (only matters for very lopsided digits)
    offset_row = min(max(offset_row, 0), rows - new_rows)
    offset_col = min(max(offset_col, 0), cols - new_cols)
    field = np.zeros((rows, cols), dtype=np.float64)
    field[offset_row : offset_row + new_rows, offset_col : offset_col + new_cols] = digit
    return np.rint(field * 255.0).astype(np.uint8).reshape(-1)


_EXIF_ORIENTATION = 0x0112
_TRANSPOSE_BY_ORIENTATION = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_ALPHA_MODES = ("RGBA", "LA", "PA", "RGBa", "La")


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in _ALPHA_MODES or (image.mode == "P" and "transparency" in image.info)


def _reduced(image: Image.Image) -> Image.Image:
    """Shrink a decoded image by an integer box factor to at most MAX_WORKING_SIDE per side.

    Transparency is premultiplied first (mode ``RGBa``), so averaging then compositing on white
    gives the average of the composited pixels; palette and bilevel images become gray levels.
    """
    factor = math.ceil(max(image.size) / MAX_WORKING_SIDE)
    if factor <= 1:
        return image
    if _has_alpha(image):
        image = (image if image.mode == "RGBA" else image.convert("RGBA")).convert("RGBa")
    elif image.mode.startswith("I;16"):
        image = image.convert("I")
    elif image.mode not in ("L", "RGB", "I", "F"):
        image = image.convert("L")
    return image.reduce(factor)


def _count_jpeg_scans(stream: BinaryIO, limit: int) -> int:
    """Count start-of-scan markers (FF DA) in a JPEG stream, stopping past ``limit``.

    In entropy-coded data a 0xFF byte is always followed by 0x00 or a restart marker, so FF DA
    occurs only as a marker (or inside an embedded thumbnail, counted too).
    """
    count = 0
    previous = b""
    while count <= limit:
        chunk = stream.read(1 << 20)
        if not chunk:
            break
        count += (previous + chunk).count(b"\xff\xda")
        previous = chunk[-1:]
    stream.seek(0)
    return count


def _decode(stream: BinaryIO, max_pixels: int, name: str) -> np.ndarray:
    """Open, check the size from the header, decode (reduced) and return the gray levels."""
    head = stream.read(3)
    stream.seek(0)
    if head == b"\xff\xd8\xff":
        scans = _count_jpeg_scans(stream, MAX_JPEG_SCANS)
        if scans > MAX_JPEG_SCANS:
            raise InputError(
                f"{name}: JPEG with more than {MAX_JPEG_SCANS} scans (each one is a pass over "
                "the whole picture; real pictures have at most a few dozen)"
            )
    with Image.open(stream, formats=("PNG", "JPEG")) as image:
        width, height = image.size
        if width * height > max_pixels:
            raise InputError(
                f"{name}: image of {width}x{height} pixels is too large "
                f"(at most {max_pixels} pixels)"
            )
        factor = math.ceil(max(width, height) / MAX_WORKING_SIDE)
        if factor > 1 and image.format == "JPEG":
            # let the JPEG decoder scale by 1/2, 1/4 or 1/8 (and decode luma only)
            image.draft("L", (math.ceil(width / factor), math.ceil(height / factor)))
        orientation = image.getexif().get(_EXIF_ORIENTATION)
        image.load()
        small = _reduced(image)
        transpose = _TRANSPOSE_BY_ORIENTATION.get(orientation)  # type: ignore[arg-type]
        if transpose is not None:
            small = small.transpose(transpose)
        return _gray(small)


def _read_gray(source: io.BytesIO | Path, name: str, max_pixels: int) -> np.ndarray:
    """Decode a PNG or JPEG picture to gray levels, at most MAX_WORKING_SIDE pixels a side."""
    try:
        opened = source if isinstance(source, io.BytesIO) else open_regular_file(source, "picture")
        with opened as stream:
            return _decode(stream, max_pixels, name)
    except InputError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError):
        raise InputError(f"{name}: not a readable PNG or JPEG image") from None
    except MemoryError:
        raise
    except Exception as exc:  # Pillow's decoders raise many exception types on bad data
        # (OSError, ValueError, SyntaxError, EOFError, struct.error, TypeError, IndexError, ...)
        reason = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise InputError(f"{name}: cannot decode the image ({reason})") from None


def load_image(
    source: str | os.PathLike[str] | bytes,
    *,
    image_shape: tuple[int, int] = MNIST_IMAGE_SHAPE,
    name: str | None = None,
    max_pixels: int = DEFAULT_MAX_IMAGE_PIXELS,
) -> np.ndarray:
    """Read a PNG or JPEG picture of one digit and normalize it like MNIST.

    Memory is bounded by the picture's declared size, checked from its header before decoding,
    and by :data:`MAX_WORKING_SIDE`: larger pictures are shrunk by an integer box factor right
    after decoding (JPEGs already inside the decoder, by 1/2, 1/4 or 1/8), so the MNIST
    normalization works on at most 1024x1024 gray levels.

    Parameters
    ----------
    source : path-like or bytes
        A file, or the encoded image itself (bytes are never written anywhere).
    image_shape : (int, int), default=(28, 28)
        The model's image field.
    name : str, optional
        How to name the input in error messages; default: the path, or ``"image"`` for bytes.
    max_pixels : int, default=DEFAULT_MAX_IMAGE_PIXELS
        Larger images (width x height, from the header) are refused before decoding.

    Returns
    -------
    pixels : ndarray of shape (rows * columns,), uint8
        See :func:`normalize_digit`.

    Raises
    ------
    InputError
        Missing or unreadable file, not PNG/JPEG, too large, or no digit in the picture.
    """
    if isinstance(source, bytes | bytearray | memoryview):
        label = name or "image"
        gray = _read_gray(io.BytesIO(bytes(source)), label, max_pixels)
    else:
        label = name or str(source)
        gray = _read_gray(Path(source), label, max_pixels)
    return normalize_digit(gray, image_shape=image_shape, name=label)


def input_kind(path: str | os.PathLike[str]) -> str:
    """Tell what kind of input file ``path`` is from its first bytes (not its name).

    Parameters
    ----------
    path : path-like

    Returns
    -------
    kind : str
        ``"npy"`` (magic ``\\x93NUMPY``), ``"idx"`` (two zero bytes, or gzip), ``"png"``,
        ``"jpeg"``, ``"zip"`` (an ``.npz`` archive such as a model file) or ``"unknown"``.

    Raises
    ------
    InputError
        If the file is missing, a folder or unreadable.
    """
    try:
        with open(path, "rb") as handle:
            head = handle.read(8)
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a folder, not a file") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read the file ({exc.strerror or exc})") from None
    for magic, kind in _MAGIC_KINDS:
        if head.startswith(magic):
            return kind
    return "unknown"


def load_digit_file(
    path: str | os.PathLike[str],
    *,
    image_shape: tuple[int, ...] = MNIST_IMAGE_SHAPE,
    pixel_max: float = 255.0,
    max_pixels: int = DEFAULT_MAX_IMAGE_PIXELS,
) -> np.ndarray:
    """Read any supported input file as model rows on the model's pixel scale.

    The kind is detected from the content, not the name: ``.npy`` (magic ``\\x93NUMPY``), IDX
    (two zero bytes, or gzip), otherwise a PNG or JPEG picture of one digit, which goes through
    :func:`normalize_digit` and is then rescaled from 0..255 to 0..pixel_max.

    Parameters
    ----------
    path : path-like
    image_shape : tuple of int, default=(28, 28)
        The model's image shape (``read_metadata(path)["extra"]["image_shape"]``).
    pixel_max : float, default=255.0
        The model's pixel scale.
    max_pixels : int, default=DEFAULT_MAX_IMAGE_PIXELS

    Returns
    -------
    X : ndarray of shape (n, n_features)
        One row for a picture, n rows for an array file: uint8 where the scale is 255 (pictures),
        the file's dtype for arrays, float32 otherwise.

    Raises
    ------
    InputError
        With one line naming the file.
    """
    path = Path(path)
    kind = input_kind(path)
    if kind == "zip":
        raise InputError(f"{path}: a zip archive (a model file?), not a picture or an array file")
    if kind == "npy":
        return load_npy_images(path, image_shape=image_shape, pixel_max=pixel_max)
    if kind == "idx":
        return load_idx_images(path, image_shape=image_shape, pixel_max=pixel_max)
    shape2d = _check_image_shape(image_shape)
    pixels = load_image(path, image_shape=shape2d, max_pixels=max_pixels)[None, :]
    if pixel_max == 255.0:
        return pixels
    return (pixels.astype(np.float32) * np.float32(pixel_max / 255.0)).astype(np.float32)


@dataclass(frozen=True)
class ModelInputSpec:
    """What a fitted model expects as input, read from the model and its file's metadata.

    Attributes
    ----------
    n_features : int
        Pixels per image, the model's ``n_features_in_`` (784 for MNIST).
    image_shape : tuple of int
        Shape of one image, e.g. (28, 28): the metadata's ``image_shape`` when it matches
        ``n_features``, else a square when ``n_features`` is a perfect square, else
        ``(n_features,)`` (then pictures cannot be normalized, arrays still work).
    pixel_max : float
        The model's pixel scale: the metadata's, else the PixelScaler step's, else 255.
    class_names : tuple of str
        One display name per class, in the order of ``classes_``.
    """

    n_features: int
    image_shape: tuple[int, ...]
    pixel_max: float
    class_names: tuple[str, ...]

    @classmethod
    def from_model(cls, model: Any, metadata: dict[str, Any] | None = None) -> ModelInputSpec:
        """Describe the input of ``model`` (a Pipeline or a classifier).

        Parameters
        ----------
        model : Pipeline or estimator
            Fitted; its first step has ``n_features_in_``, its last ``classes_``.
        metadata : dict, optional
            :func:`~mnist_logreg.persistence.read_metadata` of its file; ``extra`` may hold
            ``image_shape``, ``pixel_max`` and ``class_names`` (written by ``mnist-logreg fit``).

        Returns
        -------
        spec : ModelInputSpec
        """
        steps = [step for _, step in getattr(model, "steps", [("model", model)])]
        extra = (metadata or {}).get("extra") or {}
        n_features = int(getattr(steps[0], "n_features_in_", 0) or math.prod(MNIST_IMAGE_SHAPE))
        classes = list(getattr(steps[-1], "classes_", []))
        shape: tuple[int, ...]
        try:
            shape = tuple(int(d) for d in extra["image_shape"])
            if math.prod(shape) != n_features:
                raise ValueError
        except (KeyError, TypeError, ValueError):
            side = math.isqrt(n_features)
            shape = (side, side) if side * side == n_features else (n_features,)
        pixel_max = extra.get("pixel_max")
        if not isinstance(pixel_max, int | float) or not pixel_max > 0:
            scalers = [s.pixel_max for s in steps if hasattr(s, "pixel_max")]
            pixel_max = scalers[0] if scalers else 255.0
        names = extra.get("class_names")
        if not isinstance(names, list) or len(names) != len(classes):
            names = [str(c) for c in classes]
        return cls(n_features, shape, float(pixel_max), tuple(str(n) for n in names))
