"""Tests of the MNIST normalization of real pictures and of the array-file loaders."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from scipy import ndimage

from mnist_logreg.datasets import load_dataset, write_idx
from mnist_logreg.errors import InputError
from mnist_logreg.preprocessing import (
    ModelInputSpec,
    image_to_gray,
    input_kind,
    load_digit_file,
    load_idx_images,
    load_image,
    load_npy_images,
    normalize_digit,
)


@pytest.fixture(scope="module")
def digits() -> np.ndarray:
    """The first 40 MNIST test digits, shape (40, 28, 28), uint8."""
    return load_dataset("mnist").X_test[:40].reshape(-1, 28, 28)


def _png(array: np.ndarray, path: Path | None = None, mode: str | None = None) -> bytes:
    image = Image.fromarray(array, mode=mode) if mode else Image.fromarray(array)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    if path is not None:
        path.write_bytes(buffer.getvalue())
    return buffer.getvalue()


def _ink_box(pixels: np.ndarray, threshold: int = 64) -> tuple[int, int]:
    rows, cols = np.nonzero(pixels.reshape(28, 28) > threshold)
    return int(rows.max() - rows.min() + 1), int(cols.max() - cols.min() + 1)


def test_normalize_mnist_digits_is_nearly_the_identity(digits: np.ndarray) -> None:
    """Test that normalizing MNIST's own digits changes them by well under one gray level."""
    out = np.array([normalize_digit(d) for d in digits])
    assert out.dtype == np.uint8 and out.shape == (40, 784)
    assert np.abs(out.astype(int) - digits.reshape(40, -1)).mean() < 1.0


def test_inverted_picture_gives_the_same_image(digits: np.ndarray) -> None:
    """Test that dark-on-light input is detected and inverted to MNIST's light-on-dark."""
    for digit in digits[:10]:
        assert np.array_equal(normalize_digit(255 - digit), normalize_digit(digit))


def test_output_is_centered_by_center_of_mass_and_fits_20_pixels() -> None:
    """Test that an off-center, large digit is scaled to a 20-pixel box centered by mass."""
    canvas = np.zeros((300, 500), dtype=np.uint8)
    canvas[20:200, 330:360] = 255  # vertical bar of a "1": 180 x 30 pixels
    canvas[20:50, 300:360] = 255  # its flag
    out = normalize_digit(canvas)
    height, width = _ink_box(out, threshold=0)
    assert height == 20 and width <= 8
    center = ndimage.center_of_mass(out.reshape(28, 28).astype(float))
    assert abs(center[0] - 14) <= 0.5 and abs(center[1] - 14) <= 0.5


def test_aspect_ratio_is_kept() -> None:
    """Test that a wide stroke stays wide: the longer side becomes 20 pixels, not both."""
    canvas = np.full((200, 200), 255, dtype=np.uint8)
    canvas[90:110, 20:180] = 0  # horizontal bar 160 x 20, dark on light
    height, width = _ink_box(normalize_digit(canvas), threshold=0)
    assert width == 20
    assert 2 <= height <= 4


def test_faint_ink_is_stretched_to_full_range() -> None:
    """Test that a faint gray digit on a gray background gets MNIST's full 0..255 range."""
    canvas = np.full((60, 60), 120, dtype=np.uint8)
    canvas[10:50, 25:35] = 160
    out = normalize_digit(canvas)
    assert out.max() == 255 and out.min() == 0


@pytest.mark.parametrize("level", [0, 255, 128])
def test_blank_picture_raises(level: int, tmp_path: Path) -> None:
    """Test that a uniform picture is refused with a message naming the file."""
    path = tmp_path / "blank.png"
    _png(np.full((40, 40), level, dtype=np.uint8), path)
    with pytest.raises(InputError, match=r"blank\.png: no digit found"):
        load_image(path)


def test_nearly_uniform_noise_raises() -> None:
    """Test that a picture whose range is a few gray levels counts as blank."""
    noise = np.random.default_rng(0).integers(200, 205, size=(50, 50)).astype(np.uint8)
    with pytest.raises(InputError, match="no digit found"):
        normalize_digit(noise, name="noise.png")


def test_unreadable_files_raise_naming_the_file(tmp_path: Path, digits: np.ndarray) -> None:
    """Test that text, truncated PNG, GIF, folders and missing files give one-line InputErrors."""
    text = tmp_path / "text.png"
    text.write_text("not an image")
    truncated = tmp_path / "truncated.png"
    truncated.write_bytes(_png(digits[0])[:60])
    gif = tmp_path / "digit.gif"
    Image.fromarray(digits[0]).save(gif, format="GIF")
    for path, message in [
        (text, "not a readable PNG or JPEG"),
        (truncated, "truncated.png"),
        (gif, "not a readable PNG or JPEG"),
        (tmp_path / "missing.png", "does not exist"),
        (tmp_path, "folder"),
    ]:
        with pytest.raises(InputError, match=message) as info:
            load_image(path)
        assert str(path) in str(info.value) and "\n" not in str(info.value)
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)  # would block a plain open() until a writer came
    with pytest.raises(InputError, match="is not a regular file"):
        load_image(fifo)


def test_large_picture_refused_before_decoding() -> None:
    """Test that a picture over max_pixels is refused from its header."""
    data = _png(np.zeros((100, 100), dtype=np.uint8))
    with pytest.raises(InputError, match="too large"):
        load_image(data, max_pixels=5000, name="big.png")


def test_alpha_is_composited_on_white(digits: np.ndarray) -> None:
    """Test that black ink on a transparent background reads as dark ink on white."""
    ink = digits[3]
    rgba = np.zeros((28, 28, 4), dtype=np.uint8)
    rgba[..., 3] = ink  # black, opacity = ink
    image = Image.fromarray(rgba, mode="RGBA")
    gray = image_to_gray(image)
    assert np.allclose(gray, 255 - ink.astype(float), atol=1)
    assert np.array_equal(normalize_digit(gray), normalize_digit(ink))


def test_color_jpeg_and_16_bit_png_are_read(digits: np.ndarray, tmp_path: Path) -> None:
    """Test RGB JPEG (lossy) and 16-bit grayscale PNG pictures of a digit."""
    digit = digits[0]
    big = np.asarray(Image.fromarray(255 - digit).resize((112, 112), Image.Resampling.NEAREST))
    rgb = np.stack([big, big, np.full_like(big, 255)], axis=-1)  # dark blue ink on white
    jpeg = tmp_path / "digit.jpg"
    Image.fromarray(rgb).save(jpeg, format="JPEG", quality=90)
    out = load_image(jpeg)
    assert np.abs(out.astype(int) - digit.reshape(-1)).mean() < 12

    sixteen = tmp_path / "digit16.png"
    Image.fromarray(digit.astype(np.uint16) * 257).save(sixteen)  # mode I;16
    assert np.abs(load_image(sixteen).astype(int) - digit.reshape(-1)).mean() < 1.0


def test_smooth_enlargement_keeps_the_digit(digits: np.ndarray) -> None:
    """Test that a bicubic 2.5x enlargement, off center and inverted, normalizes back closely."""
    diffs = []
    for i, digit in enumerate(digits):
        big = Image.fromarray(255 - digit).resize((70, 70), Image.Resampling.BICUBIC)
        page = Image.new("L", (150, 120), 255)
        page.paste(big, (5 + 3 * i % 70, 40 - i % 40))
        out = load_image(_png(np.asarray(page)))
        diffs.append(np.abs(out.astype(int) - digit.reshape(-1)).mean())
    assert np.mean(diffs) < 12  # about 8: blur of the resampling and a sub-pixel grid shift


def test_other_image_shapes() -> None:
    """Test normalization into an 8x8 field (scikit-learn's digits): a 6x6 box."""
    canvas = np.zeros((100, 100), dtype=np.uint8)
    canvas[10:90, 40:60] = 255
    out = normalize_digit(canvas, image_shape=(8, 8))
    assert out.shape == (64,)
    assert _ink_box(np.pad(out.reshape(8, 8), 10), threshold=0)[0] == 6
    with pytest.raises(InputError, match="2-D image shapes"):
        normalize_digit(canvas, image_shape=(784,))


@pytest.mark.parametrize(
    ("shape", "n"), [((28, 28), 1), ((784,), 1), ((3, 28, 28), 3), ((3, 784), 3)]
)
def test_npy_shapes(shape: tuple[int, ...], n: int, tmp_path: Path) -> None:
    """Test the accepted .npy shapes: one image or n images, 2-D or flat."""
    path = tmp_path / "x.npy"
    values = np.arange(np.prod(shape)).reshape(shape) % 256
    np.save(path, values.astype(np.uint8))
    rows = load_npy_images(path)
    assert rows.shape == (n, 784) and rows.dtype == np.uint8
    assert np.array_equal(rows.reshape(-1), values.reshape(-1))


@pytest.mark.parametrize(
    ("array", "message"),
    [
        (np.zeros((27, 28), dtype=np.uint8), r"got \(27, 28\)"),
        (np.zeros((2, 3, 784), dtype=np.uint8), "expected an array of shape"),
        (np.zeros((0, 784), dtype=np.uint8), "holds no images"),
        (np.array(["a"] * 784), "not pixel values"),
        (np.zeros(784, dtype=np.complex64), "not pixel values"),
        (np.full(784, np.nan), "NaN or infinite"),
        (np.full(784, 300.0), r"0\.\.255"),
        (np.full(784, -1, dtype=np.int16), r"0\.\.255"),
    ],
)
def test_npy_refused(array: np.ndarray, message: str, tmp_path: Path) -> None:
    """Test that wrong shapes, dtypes and values give an InputError naming the file."""
    path = tmp_path / "bad.npy"
    np.save(path, array)
    with pytest.raises(InputError, match=message) as info:
        load_npy_images(path)
    assert "bad.npy" in str(info.value)


def test_npy_object_arrays_and_npz_are_refused(tmp_path: Path) -> None:
    """Test that pickled object arrays are never loaded and .npz archives are refused."""
    objects = tmp_path / "objects.npy"
    np.save(objects, np.array([{"a": 1}] * 3, dtype=object), allow_pickle=True)
    with pytest.raises(InputError, match="object arrays are refused"):
        load_npy_images(objects)
    archive = tmp_path / "archive.npz"
    np.savez(archive, x=np.zeros(784))
    with pytest.raises(InputError, match="npz"):
        load_npy_images(archive)


def test_idx_files_plain_and_gzip(digits: np.ndarray, tmp_path: Path) -> None:
    """Test reading (n, 28, 28) IDX files, plain and gzip-compressed."""
    for name in ("images-idx3-ubyte", "images-idx3-ubyte.gz"):
        path = write_idx(tmp_path / name, digits[:5])
        rows = load_idx_images(path)
        assert rows.shape == (5, 784)
        assert np.array_equal(rows, digits[:5].reshape(5, -1))
    broken = tmp_path / "broken-idx"
    broken.write_bytes(b"\x00\x00\x08\x03" + b"\x00" * 5)
    with pytest.raises(InputError, match="broken-idx"):
        load_idx_images(broken)


def test_load_digit_file_detects_the_kind_from_content(digits: np.ndarray, tmp_path: Path) -> None:
    """Test that the file kind comes from its bytes, not its name."""
    png = tmp_path / "looks-like.npy.dat"
    _png(255 - digits[1], png)
    npy = tmp_path / "array.bin"
    with open(npy, "wb") as handle:
        np.save(handle, digits[:2])
    idx = write_idx(tmp_path / "images.png", digits[:3])
    assert np.array_equal(load_digit_file(png)[0], normalize_digit(digits[1]))
    assert load_digit_file(npy).shape == (2, 784)
    assert load_digit_file(idx).shape == (3, 784)


def test_load_digit_file_rescales_pictures_to_the_model_pixel_scale(tmp_path: Path) -> None:
    """Test that a picture for an 8x8, 0..16 model comes out as float32 in 0..16."""
    canvas = np.zeros((50, 50), dtype=np.uint8)
    canvas[5:45, 20:30] = 255
    path = tmp_path / "bar.png"
    _png(canvas, path)
    rows = load_digit_file(path, image_shape=(8, 8), pixel_max=16.0)
    assert rows.shape == (1, 64) and rows.dtype == np.float32
    assert rows.max() == pytest.approx(16.0) and rows.min() == 0.0


def test_model_input_spec_from_metadata_and_fallbacks() -> None:
    """Test that the spec uses the metadata when it fits and the model otherwise."""

    class _Scaler:
        pixel_max = 16.0
        n_features_in_ = 64

    class _Classifier:
        classes_ = np.array([0, 1, 2])

    model = type("M", (), {"steps": [("scale", _Scaler()), ("classifier", _Classifier())]})()
    spec = ModelInputSpec.from_model(model)
    assert spec == ModelInputSpec(64, (8, 8), 16.0, ("0", "1", "2"))
    extra = {"image_shape": [4, 16], "pixel_max": 255.0, "class_names": ["a", "b", "c"]}
    spec = ModelInputSpec.from_model(model, {"extra": extra})
    assert spec == ModelInputSpec(64, (4, 16), 255.0, ("a", "b", "c"))
    bad = {"image_shape": [28, 28], "class_names": ["only one"]}
    spec = ModelInputSpec.from_model(model, {"extra": bad})
    assert spec.image_shape == (8, 8) and spec.class_names == ("0", "1", "2")


def _stroke_picture(side: int) -> np.ndarray:
    """A dark stroke (a '1' with a foot) on white, side x side pixels, made of 8x8 blocks."""
    small = np.full((side // 8, side // 8), 255, dtype=np.uint8)
    n = side // 8
    small[n // 5 : 4 * n // 5, n // 2 - n // 20 : n // 2 + n // 20 + 1] = 0
    small[4 * n // 5 - 2 : 4 * n // 5, n // 3 : 2 * n // 3] = 0
    return np.kron(small, np.ones((8, 8), dtype=np.uint8))


def test_large_pictures_are_reduced_at_decode_to_the_same_digit() -> None:
    """Test that a 2048-pixel picture (reduced by 2 when decoded) gives its 1024 half's digit."""
    big = _stroke_picture(2048)
    half = big[::2, ::2]  # the blocks make the 2x2 box average exact
    assert np.array_equal(load_image(_png(big)), load_image(_png(half)))
    rgba = np.zeros((2048, 2048, 4), dtype=np.uint8)
    rgba[..., 3] = 255 - big  # black ink, opacity = darkness, on transparent
    assert np.array_equal(load_image(_png(rgba, mode="RGBA")), load_image(_png(half)))


def test_large_jpeg_is_scaled_in_the_decoder_and_keeps_its_orientation(tmp_path: Path) -> None:
    """Test a 3000x1500 JPEG with EXIF orientation 6: rotated and read like its 750x375 half."""
    picture = np.full((1500, 3000), 255, dtype=np.uint8)
    picture[300:1200, 2000:2150] = 0  # a vertical bar, right of center
    picture[300:450, 1700:2150] = 0  # and a flag to its left, at the top: a '7'-like shape
    image = Image.fromarray(picture)
    exif = image.getexif()
    exif[0x0112] = 6  # displayed rotated 90 degrees clockwise
    big = io.BytesIO()
    image.save(big, format="JPEG", quality=95, exif=exif.tobytes())
    rotated = np.asarray(image.transpose(Image.Transpose.ROTATE_270))
    expected = load_image(_png(rotated))
    out = load_image(big.getvalue())
    assert np.abs(out.astype(int) - expected.astype(int)).mean() < 4


def test_jpeg_with_too_many_scans_is_refused_before_decoding() -> None:
    """Test that a progressive JPEG whose last scan is repeated past 100 scans is refused."""
    buffer = io.BytesIO()
    Image.fromarray(_stroke_picture(256)).save(buffer, format="JPEG", progressive=True)
    data = buffer.getvalue()
    last_scan = data[data.rindex(b"\xff\xda") : -2]
    n_scans = data.count(b"\xff\xda")
    assert 2 <= n_scans < 20
    fine = data[:-2] + last_scan * (100 - n_scans) + data[-2:]
    assert load_image(fine).shape == (784,)
    too_many = data[:-2] + last_scan * (101 - n_scans) + data[-2:]
    with pytest.raises(InputError, match="scan: JPEG with more than 100 scans"):
        load_image(too_many, name="scan")


def test_decoding_a_4_megapixel_picture_allocates_little() -> None:
    """Test that a 2000x2000 picture's decode and normalization allocate < 40 MB of arrays."""
    import tracemalloc

    data = _png(_stroke_picture(2000))
    tracemalloc.start()
    try:
        pixels = load_image(data, max_pixels=4_000_000)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert pixels.shape == (784,) and pixels.max() == 255
    assert peak < 40_000_000, peak  # 4M float64 gray levels alone would be 32 MB, each copy


def test_a_zip_archive_is_named_as_such(tmp_path: Path) -> None:
    """Test that a model file passed as an input is refused as a zip archive."""
    archive = tmp_path / "model.npz"
    np.savez(archive, x=np.zeros(3))
    assert input_kind(archive) == "zip"
    with pytest.raises(InputError, match="zip archive"):
        load_digit_file(archive)


def _picture_seeds() -> list[bytes]:
    gray = _stroke_picture(64)
    seeds = []
    for image, fmt, options in [
        (Image.fromarray(gray), "PNG", {}),
        (Image.fromarray(gray).convert("P"), "PNG", {}),
        (Image.fromarray(gray).convert("LA"), "PNG", {}),
        (Image.fromarray(gray.astype(np.uint16) * 257), "PNG", {}),
        (Image.fromarray(gray).convert("RGB"), "JPEG", {"quality": 70}),
        (Image.fromarray(gray), "JPEG", {"progressive": True}),
        (Image.fromarray(gray).convert("CMYK"), "JPEG", {}),
    ]:
        buffer = io.BytesIO()
        image.save(buffer, format=fmt, **options)
        seeds.append(buffer.getvalue())
    return seeds


def _fix_png_crcs(data: bytes) -> bytes:
    import struct
    import zlib

    out, pos = bytearray(data[:8]), 8
    while pos + 12 <= len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        if pos + 12 + length > len(data):
            break
        body = data[pos + 4 : pos + 8 + length]
        out += data[pos : pos + 4] + body + struct.pack(">I", zlib.crc32(body))
        pos += 12 + length
    return bytes(out + data[pos:])


@settings(max_examples=300, deadline=None)
@given(
    seed=st.sampled_from(_picture_seeds()),
    edits=st.lists(
        st.tuples(st.integers(0, 4000), st.integers(0, 255), st.sampled_from("sid")),
        min_size=1,
        max_size=8,
    ),
    fix_crcs=st.booleans(),
)
def test_mutated_pictures_give_a_digit_or_our_error(
    seed: bytes, edits: list, fix_crcs: bool
) -> None:
    """Test (Hypothesis) that mutated PNG/JPEG bytes give a (784,) image or one-line InputError."""
    data = bytearray(seed)
    for position, value, op in edits:
        position %= len(data) + 1
        if op == "s" and position < len(data):
            data[position] = value
        elif op == "i":
            data[position:position] = bytes([value]) * (1 + value % 4)
        elif op == "d":
            del data[position : position + 1 + value % 16]
    blob = _fix_png_crcs(bytes(data)) if fix_crcs else bytes(data)
    try:
        pixels = load_image(blob, name="fuzzed.png", max_pixels=4_000_000)
    except InputError as exc:
        assert "\n" not in str(exc) and str(exc).startswith("fuzzed.png: ")
    else:
        assert pixels.shape == (784,) and pixels.dtype == np.uint8
