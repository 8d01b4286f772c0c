"""Tests of model files: round trips, the whole-file digest, the schema, bounded reads, HMAC."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import tracemalloc
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mnist_logreg.datasets import load_dataset
from mnist_logreg.errors import DataFormatError, InputError
from mnist_logreg.model_selection import build_model
from mnist_logreg.persistence import (
    FORMAT_VERSION,
    KEY_ENV,
    load_model,
    read_metadata,
    read_model_file,
    save_model,
)

DATA = Path(__file__).parent / "data"
V1_FILE = DATA / "model_v1_digits.npz"  # written by mnist-logreg at c631971 (format version 1)
V1_PROBA = DATA / "model_v1_digits_proba.npy"  # its predict_proba on digits X_test[:40]


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


@pytest.fixture(scope="module", params=["multinomial", "ovr"])
def fitted(request, digits):
    model = build_model(0.5, pixel_max=16, strategy=request.param)
    return model.fit(digits.X_train, digits.y_train)


@pytest.fixture(scope="module")
def multinomial(digits):
    return build_model(0.5, pixel_max=16).fit(digits.X_train, digits.y_train)


EXTRA = {"dataset": "digits", "image_shape": [8, 8], "pixel_max": 16.0}


@pytest.fixture
def saved(multinomial, digits, tmp_path) -> Path:
    path = tmp_path / "model.npz"
    save_model(multinomial, path, extra={**EXTRA, "class_names": list(digits.class_names)})
    return path


# --- helpers that edit files the way a person or a bug would -----------------------------------


def _entries(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def _write(entries: dict[str, bytes], target: Path) -> Path:
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return target


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def _json_entry(value: Any) -> bytes:
    return _npy(np.frombuffer(json.dumps(value).encode(), dtype=np.uint8))


def _json_of(data: bytes) -> Any:
    return json.loads(np.load(io.BytesIO(data)).tobytes().decode())


def _reseal(entries: dict[str, bytes], key: bytes | None = None) -> dict[str, bytes]:
    """Recompute integrity.npy from the README's definition, as anyone editing a file can."""
    message = b"mnist-logreg-model 2\n"
    for name in sorted(n for n in entries if n != "integrity.npy"):
        message += f"{name}\n{len(entries[name])}\n".encode() + entries[name]
    integrity = {"sha256": hashlib.sha256(message).hexdigest()}
    if key is not None:
        integrity["hmac_sha256"] = hmac.new(key, message, hashlib.sha256).hexdigest()
    return {**entries, "integrity.npy": _json_entry(integrity)}


def _edited(
    path: Path,
    target: Path,
    *,
    metadata: Callable[[dict], None] | None = None,
    arrays: dict[str, np.ndarray] | None = None,
    reseal: bool = True,
) -> Path:
    """Copy a model file with its metadata and/or arrays changed (digest recomputed or not)."""
    entries = _entries(path)
    if metadata is not None:
        meta = _json_of(entries["metadata.npy"])
        metadata(meta)
        entries["metadata.npy"] = _json_entry(meta)
    for key, array in (arrays or {}).items():
        entries[f"{key}.npy"] = _npy(array)
    return _write(_reseal(entries) if reseal else entries, target)


def _one_line_error(path: Path, match: str) -> str:
    with pytest.raises(DataFormatError, match=match) as info:
        load_model(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ") and "\n" not in message
    return message


def _step(meta: dict, kind: str) -> dict:
    return next(step for step in meta["steps"] if step["kind"] == kind)


# --- round trips -----------------------------------------------------------------------------


def test_round_trip_predicts_identically_from_raw_pixels(fitted, digits, tmp_path) -> None:
    """Test that a loaded pipeline gives exactly the saved one's probabilities on raw pixels."""
    path = tmp_path / "model.npz"
    save_model(fitted, path, extra={"dataset": "digits"})
    loaded = read_model_file(path)
    np.testing.assert_array_equal(
        loaded.model.predict_proba(digits.X_test), fitted.predict_proba(digits.X_test)
    )
    np.testing.assert_array_equal(
        loaded.model.predict(digits.X_test), fitted.predict(digits.X_test)
    )
    assert loaded.format_version == FORMAT_VERSION == 2 and loaded.signed is False
    meta = read_metadata(path)
    assert meta["extra"] == {"dataset": "digits"}
    assert meta["classes"] == list(range(10))
    assert [s["kind"] for s in meta["steps"]][:2] == ["PixelScaler", "StandardScaler"]
    assert sorted(_entries(path)) == [
        "integrity.npy",
        "metadata.npy",
        "s1.mean_.npy",
        "s1.scale_.npy",
        "s1.var_.npy",
        "s2.classes_.npy",
        "s2.coef_.npy",
        "s2.intercept_.npy",
        "s2.n_iter_.npy",
    ]
    with np.load(path, allow_pickle=False) as archive:  # still an ordinary .npz for inspection
        np.testing.assert_array_equal(archive["s2.coef_"], fitted[-1].coef_)


def test_binary_estimator_round_trip(digits, tmp_path) -> None:
    """Test that a bare two-class LogisticRegression (one coef_ row) saves and loads."""
    from mnist_logreg.linear_model import LogisticRegression

    rows = digits.y_train < 2
    model = LogisticRegression(C=0.1).fit(digits.X_train[rows] / 16.0, digits.y_train[rows])
    path = tmp_path / "binary.npz"
    save_model(model, path)
    loaded = load_model(path)
    assert isinstance(loaded, LogisticRegression) and loaded.coef_.shape == (1, 64)
    X = digits.X_test[:50] / 16.0
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


def test_version_1_file_still_loads_and_predicts_the_same(digits, tmp_path) -> None:
    """Test that a file written by the version-1 writer loads and gives its recorded output."""
    loaded = read_model_file(V1_FILE)
    assert loaded.format_version == 1
    np.testing.assert_array_equal(loaded.model.predict_proba(digits.X_test[:40]), np.load(V1_PROBA))
    assert read_metadata(V1_FILE)["extra"]["class_names"] == [str(i) for i in range(10)]
    # re-saving upgrades it to version 2 with the same predictions
    upgraded = tmp_path / "upgraded.npz"
    save_model(loaded.model, upgraded, extra=loaded.metadata["extra"])
    assert read_model_file(upgraded).format_version == 2
    np.testing.assert_array_equal(
        load_model(upgraded).predict_proba(digits.X_test[:40]), np.load(V1_PROBA)
    )


def test_version_1_file_gets_the_same_validation(tmp_path) -> None:
    """Test that version-1 files keep their array checksums and get the full schema checks."""
    entries = _entries(V1_FILE)
    coef = np.load(io.BytesIO(entries["s2.coef_.npy"]))
    flipped = dict(entries, **{"s2.coef_.npy": _npy(coef + 1.0)})
    _one_line_error(_write(flipped, tmp_path / "a.npz"), "array 's2.coef_' fails its SHA-256")

    nan = coef.copy()
    nan[0, 0] = np.nan
    meta = _json_of(entries["metadata.npy"])
    meta["sha256"]["s2.coef_"] = hashlib.sha256(
        b"<f8" + repr(nan.shape).encode() + nan.tobytes()
    ).hexdigest()
    nan_entries = dict(entries, **{"s2.coef_.npy": _npy(nan), "metadata.npy": _json_entry(meta)})
    _one_line_error(_write(nan_entries, tmp_path / "b.npz"), r"coef_ holds NaN or infinite")

    meta = _json_of(entries["metadata.npy"])
    meta["extra"]["class_names"][3] = "\x1b[31mthree"
    escaped = dict(entries, **{"metadata.npy": _json_entry(meta)})
    _one_line_error(_write(escaped, tmp_path / "c.npz"), r"class_names\[3\] must be printable")


# --- the digest covers the whole metadata ----------------------------------------------------


def test_edited_pixel_max_is_detected(saved, tmp_path) -> None:
    """Test that editing a step's pixel_max fails the digest, and an invalid one the schema."""

    def double(meta):
        _step(meta, "PixelScaler")["params"]["pixel_max"] = 32
        meta["extra"]["pixel_max"] = 32.0

    edited = _edited(saved, tmp_path / "edited.npz", metadata=double, reseal=False)
    _one_line_error(edited, "SHA-256 integrity check failed")

    def negative(meta):
        _step(meta, "PixelScaler")["params"]["pixel_max"] = -1

    resealed = _edited(saved, tmp_path / "negative.npz", metadata=negative)
    _one_line_error(
        resealed, r"steps\[0\] \(scale, PixelScaler\): params.pixel_max must be a finite number > 0"
    )

    def disagree(meta):
        _step(meta, "PixelScaler")["params"]["pixel_max"] = 255

    resealed = _edited(saved, tmp_path / "disagree.npz", metadata=disagree)
    _one_line_error(resealed, "extra.pixel_max is 16.0 but the PixelScaler step's pixel_max is 255")


def test_edited_class_names_are_detected(saved, tmp_path) -> None:
    """Test that edited class names fail the digest; escapes and wrong counts fail the schema."""

    def rename(meta):
        meta["extra"]["class_names"][0] = "zero"

    _one_line_error(
        _edited(saved, tmp_path / "a.npz", metadata=rename, reseal=False), "SHA-256 integrity"
    )

    def escape(meta):
        meta["extra"]["class_names"][0] = "\x1b]2;pwned\x07zero"

    message = _one_line_error(_edited(saved, tmp_path / "b.npz", metadata=escape), "printable text")
    assert "\x1b" not in message  # the offending value is shown escaped

    def short(meta):
        meta["extra"]["class_names"].pop()

    _one_line_error(
        _edited(saved, tmp_path / "c.npz", metadata=short), "extra.class_names must be 10 unique"
    )

    def duplicate(meta):
        meta["extra"]["class_names"][1] = "0"

    _one_line_error(_edited(saved, tmp_path / "d.npz", metadata=duplicate), "10 unique")


def test_edited_array_fails_the_digest(saved, multinomial, tmp_path) -> None:
    """Test that changing one coefficient (digest not updated) is detected."""
    coef = multinomial[-1].coef_.copy()
    coef[3, 7] += 1e-9
    target = _edited(saved, tmp_path / "t.npz", arrays={"s2.coef_": coef}, reseal=False)
    _one_line_error(target, "SHA-256 integrity check failed")


def test_nan_coefficient_is_refused_even_with_an_updated_digest(saved, multinomial, tmp_path):
    """Test that NaN, infinite or overflowing coefficients and bad scales are refused."""
    coef = multinomial[-1].coef_.copy()
    coef[0, 0] = np.nan
    nan = _edited(saved, tmp_path / "nan.npz", arrays={"s2.coef_": coef})
    _one_line_error(nan, r"steps\[2\] \(classifier, LogisticRegression\): coef_ holds NaN")
    intercept = multinomial[-1].intercept_.copy()
    intercept[1] = np.inf
    inf = _edited(saved, tmp_path / "inf.npz", arrays={"s2.intercept_": intercept})
    _one_line_error(inf, "intercept_ holds NaN or infinite")
    scale = multinomial[1].scale_.copy()
    scale[5] = 0.0
    zero = _edited(saved, tmp_path / "zero.npz", arrays={"s1.scale_": scale})
    _one_line_error(zero, r"scale_ holds values <= 0")
    scale[5] = 1e-300  # positive and finite, but standardized pixels overflow float32
    tiny = _edited(saved, tmp_path / "tiny.npz", arrays={"s1.scale_": scale})
    _one_line_error(tiny, "step 'standardize' maps pixels in 0..16 beyond the range of float32")
    mean = multinomial[1].mean_.copy()
    mean[0] = 1e39  # a finite float64 that overflows when standardizing in float32
    big = _edited(saved, tmp_path / "big.npz", arrays={"s1.mean_": mean})
    _one_line_error(big, "step 'standardize': mean_ holds values beyond the range of float32")
    scale = multinomial[1].scale_.copy()
    scale[0] = 1e39  # would become inf in float32 and silently zero its pixel
    wide = _edited(saved, tmp_path / "wide.npz", arrays={"s1.scale_": scale})
    _one_line_error(wide, "step 'standardize': scale_ holds values beyond the range of float32")
    huge = _edited(saved, tmp_path / "huge.npz", arrays={"s2.coef_": np.full((10, 64), 1e306)})
    _one_line_error(huge, "step 'classifier': coef_ and intercept_ are so large")
    # float32 coefficients multiply float32 pixels in float32, even with a float64 intercept
    big32 = np.full((10, 64), 3e36, dtype=np.float32)
    huge32 = _edited(saved, tmp_path / "huge32.npz", arrays={"s2.coef_": big32})
    _one_line_error(huge32, "raw predictions overflow float32")


def test_classes_disagreeing_with_coef_are_refused(saved, tmp_path) -> None:
    """Test that 11 classes against a 10-row coef_, or classes_ unlike the metadata, are refused."""

    def eleven(meta):
        meta["classes"] = list(range(11))
        meta["extra"]["class_names"].append("10")

    more = _edited(
        saved, tmp_path / "more.npz", metadata=eleven, arrays={"s2.classes_": np.arange(11)}
    )
    _one_line_error(more, r"coef_ has shape \(10, 64\), expected \(11, 64\)")
    other = _edited(saved, tmp_path / "other.npz", arrays={"s2.classes_": np.arange(10) + 1})
    _one_line_error(other, "classes_ disagrees with the metadata's classes")
    dup = _edited(saved, tmp_path / "dup.npz", metadata=lambda m: m.update(classes=[0] * 10))
    _one_line_error(dup, "classes must be unique labels")


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (lambda m: _step(m, "LogisticRegression")["params"].update(C=-1), "params.C must be"),
        (lambda m: _step(m, "LogisticRegression")["params"].update(solver="x"), "params.solver"),
        (lambda m: _step(m, "LogisticRegression")["params"].update(evil=1), "unknown parameter"),
        (lambda m: _step(m, "PixelScaler")["params"].update(dtype="object"), "params.dtype"),
        (
            lambda m: _step(m, "PixelScaler")["params"].update(pixel_max=1e39),
            "pixel_max 1e[+]?39 is not a positive finite float32",
        ),
        (lambda m: _step(m, "StandardScaler")["params"].update(with_mean=1), "params.with_mean"),
        (lambda m: _step(m, "StandardScaler")["attributes"].update(foo_=1), "unknown scalar"),
        (lambda m: _step(m, "StandardScaler")["arrays"].pop("scale_"), "scale_ is missing"),
        (lambda m: m.update(n_features_in=65), "n_features_in_ is 64 but the model's"),
        (lambda m: m["steps"].pop(), "the last step, and only the last"),
        (lambda m: m["steps"].reverse(), r"arrays.classes_ must be 's0.classes_'"),
        (lambda m: m["steps"][0].update(kind="os.system"), r"steps\[0\].kind must be one of"),
        (lambda m: m["steps"][0].update(name="a__b"), r"steps\[0\].name must be an identifier"),
        (lambda m: m.update(kind="estimator"), "kind is 'estimator' but the file holds 3"),
        (lambda m: m.update(surprise=1), "unknown metadata field"),
        (lambda m: m["extra"].update(image_shape=[28, 28]), "extra.image_shape must be"),
    ],
)
def test_every_parameter_is_checked(saved, tmp_path, edit, match) -> None:
    """Test that unknown, ill-typed or inconsistent metadata is refused naming the field."""
    _one_line_error(_edited(saved, tmp_path / "m.npz", metadata=edit), match)


def test_non_standard_json_is_refused(saved, tmp_path) -> None:
    """Test that NaN constants, huge floats and duplicate keys in the metadata are refused."""
    entries = _entries(saved)
    text = json.dumps(_json_of(entries["metadata.npy"]))
    for bad, match in [
        (text.replace('"C": 0.5', '"C": NaN'), "NaN is not a valid JSON number"),
        (text.replace('"C": 0.5', '"C": 1e400'), "out of range"),
        (text.replace('"C": 0.5', '"C": 0.5, "C": 0.7'), "duplicate JSON key"),
        (text[:-1], "not valid UTF-8 JSON"),
    ]:
        entries["metadata.npy"] = _npy(np.frombuffer(bad.encode(), dtype=np.uint8))
        _one_line_error(_write(_reseal(entries), tmp_path / "j.npz"), match)


# --- archive structure and zip bombs ---------------------------------------------------------


def test_extra_missing_and_renamed_entries_are_refused(saved, tmp_path) -> None:
    """Test that an added, a missing, a path-like or a duplicated entry is refused."""
    entries = _entries(saved)
    extra = _write(_reseal({**entries, "evil.npy": _npy(np.zeros(3))}), tmp_path / "extra.npz")
    _one_line_error(extra, "archive entries do not match the metadata: unexpected evil.npy")
    missing = {k: v for k, v in entries.items() if k != "s2.coef_.npy"}
    _one_line_error(_write(_reseal(missing), tmp_path / "missing.npz"), "missing s2.coef_.npy")
    odd = _write({**entries, "../x.npy": b""}, tmp_path / "odd.npz")
    _one_line_error(odd, "unexpected archive entry '../x.npy'")
    with pytest.warns(UserWarning, match="Duplicate name"):
        twice = _write(entries, tmp_path / "twice.npz")
        with zipfile.ZipFile(twice, "a") as archive:
            archive.writestr("s2.coef_.npy", entries["s2.coef_.npy"])
    _one_line_error(twice, "'s2.coef_.npy' appears twice")
    _one_line_error(_write({"a.npy": _npy(np.zeros(2))}, tmp_path / "f.npz"), "no metadata entry")


def test_zip_bomb_entry_is_refused_before_decompressing(saved, tmp_path) -> None:
    """Test that a 200 MB entry packed in 200 kB is refused from its declared size alone."""
    entries = _entries(saved)
    entries["s2.coef_.npy"] = _npy(np.zeros((25_000, 1000)))  # 200 MB of zeros
    bomb = _write(_reseal(entries), tmp_path / "bomb.npz")
    assert bomb.stat().st_size < 400_000
    tracemalloc.start()
    try:
        message = _one_line_error(bomb, r"'s2.coef_.npy' declares 200000128 bytes uncompressed")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "the metadata allows at most 9216" in message
    assert peak < 5_000_000


def test_huge_shapes_in_the_metadata_are_refused_before_reading(saved, tmp_path) -> None:
    """Test that metadata claiming 10^9 features (digest updated) is refused by the size cap."""

    def huge(meta):
        meta["n_features_in"] = 10**9
        for step in meta["steps"]:
            step["attributes"]["n_features_in_"] = 10**9
        meta["extra"].pop("image_shape")

    target = _edited(saved, tmp_path / "huge.npz", metadata=huge)
    tracemalloc.start()
    try:
        _one_line_error(target, "more than the limit of")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 5_000_000


def test_lying_npy_header_is_refused(saved, multinomial, tmp_path) -> None:
    """Test that an .npy header whose shape disagrees with its data length is refused."""
    entries = _entries(saved)
    data = bytearray(entries["s2.coef_.npy"])
    header_end = data.index(b"\n") + 1
    entries["s2.coef_.npy"] = bytes(data[:header_end]) + bytes(data[header_end : header_end + 80])
    _one_line_error(_write(_reseal(entries), tmp_path / "h.npz"), "holds 80 bytes of data")


def test_pickled_object_arrays_are_never_loaded(saved, tmp_path) -> None:
    """Test that an archive entry holding a pickled object array is refused, not executed."""
    buffer = io.BytesIO()
    np.save(buffer, np.array([{"boom": 1}], dtype=object), allow_pickle=True)
    entries = dict(_entries(saved), **{"s2.coef_.npy": buffer.getvalue()})
    _one_line_error(_write(_reseal(entries), tmp_path / "evil.npz"), "object or structured arrays")


def test_truncated_foreign_and_missing_files(saved, tmp_path) -> None:
    """Test that truncated, non-model and absent files raise one-line errors."""
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(saved.read_bytes()[: saved.stat().st_size // 2])
    _one_line_error(truncated, "truncated or corrupted")
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, a=np.zeros(3))
    _one_line_error(foreign, "no metadata entry")
    text = tmp_path / "text.npz"
    text.write_text("hello")
    _one_line_error(text, "truncated or corrupted")
    with pytest.raises(InputError, match="not found"):
        load_model(tmp_path / "absent.npz")
    with pytest.raises(InputError, match="not a regular file"):
        load_model(tmp_path)


def test_newer_format_version_is_refused(saved, tmp_path) -> None:
    """Test that a file from a newer format version asks the user to upgrade."""
    newer = _edited(saved, tmp_path / "n.npz", metadata=lambda m: m.update(format_version=3))
    _one_line_error(newer, "format version 3 by mnist-logreg 0.1.0; this version reads up to 2")


# --- saving ----------------------------------------------------------------------------------


def test_unfitted_unknown_and_invalid_models_cannot_be_saved(multinomial, tmp_path) -> None:
    """Test that saving an unfitted, foreign or NaN model is an InputError and writes nothing."""
    from sklearn.base import clone
    from sklearn.tree import DecisionTreeClassifier

    with pytest.raises(InputError, match="not fitted"):
        save_model(build_model(1.0, pixel_max=255), tmp_path / "m.npz")
    with pytest.raises(InputError, match="DecisionTreeClassifier"):
        save_model(DecisionTreeClassifier(), tmp_path / "m.npz")
    broken = clone(multinomial)
    broken.__dict__.update(multinomial.__dict__)
    broken.steps = [(n, clone(s)) for n, s in multinomial.steps]
    for (_, new), (_, old) in zip(broken.steps, multinomial.steps, strict=True):
        new.__dict__.update({k: v for k, v in old.__dict__.items() if k.endswith("_")})
    broken[-1].coef_ = np.full_like(multinomial[-1].coef_, np.nan)
    with pytest.raises(InputError, match=r"cannot save the model: .*coef_ holds NaN"):
        save_model(broken, tmp_path / "m.npz")
    with pytest.raises(InputError, match="class_names"):
        save_model(multinomial, tmp_path / "m.npz", extra={"class_names": ["a\nb"] * 10})
    with pytest.raises(InputError, match="not plain JSON"):
        save_model(multinomial, tmp_path / "m.npz", extra={"x": float("nan")})
    assert list(tmp_path.iterdir()) == []


# --- optional HMAC ---------------------------------------------------------------------------


def test_hmac_signature_detects_tampering(multinomial, tmp_path, monkeypatch) -> None:
    """Test that a keyed file loads with its key only, and a resealed edit fails the HMAC."""
    path = tmp_path / "signed.npz"
    save_model(multinomial, path, key=b"secret")
    assert read_model_file(path, key=b"secret").signed is True
    assert read_model_file(path).signed is False  # the digest is still checked without a key
    _one_line_error_with_key = pytest.raises(DataFormatError, match="HMAC signature does not match")
    with _one_line_error_with_key:
        load_model(path, key=b"other")
    # an editor who recomputes the SHA-256 but does not know the key
    entries = _entries(path)
    meta = _json_of(entries["metadata.npy"])
    _step(meta, "PixelScaler")["params"]["pixel_max"] = 32
    entries["metadata.npy"] = _json_entry(meta)
    integrity = _json_of(_reseal(entries)["integrity.npy"])
    integrity["hmac_sha256"] = _json_of(entries["integrity.npy"])["hmac_sha256"]
    entries["integrity.npy"] = _json_entry(integrity)
    tampered = _write(entries, tmp_path / "tampered.npz")
    assert load_model(tampered)[0].pixel_max == 32  # the plain digest cannot tell
    with pytest.raises(DataFormatError, match="HMAC signature does not match"):
        load_model(tampered, key=b"secret")
    unsigned = tmp_path / "unsigned.npz"
    save_model(multinomial, unsigned)
    with pytest.raises(DataFormatError, match="no HMAC signature, but a key was given"):
        load_model(unsigned, key="secret")
    monkeypatch.setenv(KEY_ENV, "secret")
    with pytest.raises(DataFormatError, match="no HMAC signature"):
        load_model(unsigned)
    assert read_model_file(path).signed is True


# --- command line ----------------------------------------------------------------------------


@pytest.fixture
def bad_models(saved, multinomial, tmp_path) -> dict[str, Path]:
    coef = multinomial[-1].coef_.copy()
    coef[0, 0] = np.nan

    def pixel_max(meta):
        _step(meta, "PixelScaler")["params"]["pixel_max"] = 32
        meta["extra"]["pixel_max"] = 32

    def eleven(meta):
        meta["classes"] = list(range(11))
        del meta["extra"]["class_names"]

    def escape(meta):
        meta["extra"]["class_names"][0] = "\x1b[2J"

    return {
        "SHA-256 integrity check failed": _edited(
            saved, tmp_path / "pm.npz", metadata=pixel_max, reseal=False
        ),
        "coef_ holds NaN": _edited(saved, tmp_path / "nan.npz", arrays={"s2.coef_": coef}),
        "coef_ has shape (10, 64), expected (11, 64)": _edited(
            saved, tmp_path / "k.npz", metadata=eleven, arrays={"s2.classes_": np.arange(11)}
        ),
        "must be printable text": _edited(saved, tmp_path / "esc.npz", metadata=escape),
    }


def test_predict_and_export_on_bad_models_exit_2_with_one_line(
    bad_models, digits, tmp_path, run_cli
) -> None:
    """Test that predict and export refuse each bad model with exit 2 and one stderr line."""
    rows = tmp_path / "rows.npy"
    np.save(rows, digits.X_test[:3])
    for match, model in bad_models.items():
        for args in (
            ("predict", model, rows),
            ("export", model, "--onnx", tmp_path / "out.onnx"),
        ):
            if args[0] == "export":
                pytest.importorskip("onnx")
            result = run_cli(*args)
            assert result.code == 2, (args, result.err)
            assert result.err.count("\n") == 1 and "Traceback" not in result.err
            assert str(model) in result.err and match in result.err
            assert result.out == ""
    assert not (tmp_path / "out.onnx").exists()


# --- fuzz ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_model_bytes(tmp_path_factory, digits) -> bytes:
    """A real model file: 3 classes of digits, 64 features, about 6 kB."""
    rows = digits.y_train < 3
    model = build_model(1.0, pixel_max=16).fit(digits.X_train[rows], digits.y_train[rows])
    path = tmp_path_factory.mktemp("fuzz") / "small.npz"
    save_model(model, path, extra={**EXTRA, "class_names": ["zero", "one", "two"]})
    return path.read_bytes()


def _assert_valid_or_error(path: Path, X: np.ndarray) -> None:
    try:
        model = load_model(path)
    except DataFormatError as exc:
        assert str(exc).startswith(f"{path}: ") and "\n" not in str(exc)
        return
    proba = model.predict_proba(X)
    assert np.isfinite(proba).all() and np.allclose(proba.sum(axis=1), 1.0)
    assert set(model.predict(X)) <= set(model.classes_.tolist())


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    flips=st.lists(st.tuples(st.integers(0, 10**6), st.integers(1, 255)), max_size=6),
    cut=st.one_of(st.none(), st.integers(0, 10**6)),
)
def test_fuzz_mutated_bytes_load_or_raise_data_format_error(
    small_model_bytes, digits, tmp_path, flips, cut
) -> None:
    """Test that byte flips and truncations give a valid model or a DataFormatError, never more."""
    data = bytearray(small_model_bytes)
    for position, mask in flips:
        data[position % len(data)] ^= mask
    if cut is not None:
        data = data[: cut % (len(data) + 1)]
    path = tmp_path / "fuzz.npz"
    path.write_bytes(bytes(data))
    _assert_valid_or_error(path, digits.X_test[:5])


_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)


def _paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    found = [prefix]
    if isinstance(value, dict):
        for key, sub in value.items():
            found += _paths(sub, (*prefix, key))
    elif isinstance(value, list):
        for index, sub in enumerate(value):
            found += _paths(sub, (*prefix, index))
    return found


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(choice=st.integers(0, 10**6), replacement=_JSON, delete=st.booleans())
def test_fuzz_resealed_metadata_edits_load_or_raise(
    small_model_bytes, digits, tmp_path, choice, replacement, delete
) -> None:
    """Test that any metadata edit with the digest updated gives a valid model or our error."""
    source = tmp_path / "source.npz"
    source.write_bytes(small_model_bytes)
    entries = _entries(source)
    meta = _json_of(entries["metadata.npy"])
    paths = _paths(meta)[1:]
    *parents, last = paths[choice % len(paths)]
    target = meta
    for part in parents:
        target = target[part]
    if delete:
        del target[last]
    else:
        target[last] = replacement
    entries["metadata.npy"] = _json_entry(meta)
    path = _write(_reseal(entries), tmp_path / "fuzz.npz")
    _assert_valid_or_error(path, digits.X_test[:5])


@pytest.mark.parametrize("estimator", ["LogisticRegression", "OneVsRestLogisticRegression"])
def test_folded_classifier_is_stored_unfolded_and_predicts_the_same(
    estimator, digits, tmp_path
) -> None:
    """Test that a standardize=True classifier saves as scaler + classifier, same predictions."""
    from sklearn.pipeline import Pipeline

    from mnist_logreg import linear_model
    from mnist_logreg.preprocessing import PixelScaler

    folded = getattr(linear_model, estimator)(C=0.5, standardize=True)
    model = Pipeline([("scale", PixelScaler(pixel_max=16)), ("classifier", folded)])
    model.fit(digits.X_train, digits.y_train)
    path = tmp_path / "folded.npz"
    save_model(model, path, extra={**EXTRA, "class_names": list(digits.class_names)})
    loaded = load_model(path)
    kinds = [type(step).__name__ for _, step in loaded.steps]
    assert kinds == ["PixelScaler", "StandardScaler", estimator]
    assert loaded.steps[-1][1].standardize is False
    np.testing.assert_allclose(
        loaded.predict_proba(digits.X_test), model.predict_proba(digits.X_test), atol=1e-6
    )
    assert np.array_equal(loaded.predict(digits.X_test), model.predict(digits.X_test))
