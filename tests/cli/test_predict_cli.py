"""Tests of ``mnist-logreg predict``: pictures, arrays, output formats and per-file errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mnist_logreg.datasets import load_dataset, write_idx
from mnist_logreg.model_selection import build_model
from mnist_logreg.persistence import load_model, save_model


@pytest.fixture(scope="module")
def mnist():
    """The bundled MNIST data set."""
    return load_dataset("mnist")


@pytest.fixture(scope="module")
def model_file(mnist, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A multinomial model fitted on 5,000 MNIST training images, saved as a model file."""
    rows = np.random.default_rng(0).choice(len(mnist.y_train), 5000, replace=False)
    model = build_model(0.05, pixel_max=255.0).fit(mnist.X_train[rows], mnist.y_train[rows])
    path = tmp_path_factory.mktemp("predict") / "model.npz"
    save_model(
        model,
        path,
        extra={
            "dataset": "mnist",
            "image_shape": [28, 28],
            "pixel_max": 255.0,
            "class_names": list(mnist.class_names),
        },
    )
    return path


def _picture(digit: np.ndarray, rng: np.random.Generator) -> Image.Image:
    """An MNIST digit as a scan would show it: dark on light, 3x larger, off center."""
    big = Image.fromarray(255 - digit.reshape(28, 28)).resize((84, 84), Image.Resampling.NEAREST)
    page = Image.new("L", (84 + int(rng.integers(20, 120)), 84 + int(rng.integers(20, 120))), 255)
    page.paste(big, (int(rng.integers(0, page.width - 84)), int(rng.integers(0, page.height - 84))))
    return page


def test_predict_on_transformed_pictures_agrees_with_the_arrays(
    mnist, model_file: Path, tmp_path: Path, run_cli
) -> None:
    """Test that 300 inverted, enlarged, off-center PNGs get the arrays' predictions (>= 97%)."""
    rng = np.random.default_rng(6)
    digits = mnist.X_test[:300]
    paths = []
    for i, digit in enumerate(digits):
        path = tmp_path / f"digit-{i:03d}.png"
        _picture(digit, rng).save(path)
        paths.append(path)
    result = run_cli("predict", model_file, *paths, "--json", "--top", "1")
    assert result.code == 0, result.err
    predicted = {Path(r["file"]).name: r["label"] for r in json.loads(result.out)}
    from_pictures = np.array([predicted[p.name] for p in paths])
    from_arrays = load_model(model_file).predict(digits)
    agreement = float(np.mean(from_pictures == from_arrays))
    assert agreement >= 0.97, agreement  # 0.997 when written


def test_text_output_one_line_per_file_with_top_k(mnist, model_file: Path, tmp_path: Path, run_cli):
    """Test the text output: file, label, then the K most probable classes in order."""
    path = tmp_path / "seven.png"
    Image.fromarray(mnist.X_test[0].reshape(28, 28)).save(path)  # a 7
    result = run_cli("predict", model_file, path, "--top", "4")
    assert result.code == 0 and result.err == ""
    (line,) = result.out.splitlines()
    name, label, top = line.split("\t")
    assert name == str(path) and label == "7"
    pairs = [item.split("=") for item in top.split()]
    assert len(pairs) == 4 and pairs[0][0] == "7"
    probabilities = [float(p) for _, p in pairs]
    assert probabilities == sorted(probabilities, reverse=True)


def test_json_output_for_arrays(mnist, model_file: Path, tmp_path: Path, run_cli) -> None:
    """Test .npy and IDX files: one JSON entry per image, with its index, matching predict_proba."""
    npy = tmp_path / "five.npy"
    np.save(npy, mnist.X_test[:5].reshape(5, 28, 28))
    idx = write_idx(tmp_path / "three-idx3-ubyte.gz", mnist.X_test[5:8].reshape(3, 28, 28))
    result = run_cli("predict", model_file, npy, idx, "--json", "--top", "20")
    assert result.code == 0, result.err
    entries = json.loads(result.out)
    assert [(Path(e["file"]).name, e["index"]) for e in entries] == [
        *[("five.npy", i) for i in range(5)],
        *[("three-idx3-ubyte.gz", i) for i in range(3)],
    ]
    proba = load_model(model_file).predict_proba(mnist.X_test[:8])
    for entry, row in zip(entries, proba, strict=True):
        assert len(entry["top"]) == 10  # --top larger than the number of classes: all of them
        assert entry["label"] == entry["top"][0]["label"] == int(np.argmax(row))
        assert entry["class_name"] == str(entry["label"])
        got = {t["label"]: t["probability"] for t in entry["top"]}
        assert np.allclose([got[k] for k in range(10)], row, atol=1e-12)


def test_per_file_errors_do_not_stop_the_others(
    mnist, model_file: Path, tmp_path: Path, run_cli
) -> None:
    """Test that bad files get one stderr line each, good ones are predicted, exit code 2."""
    good = tmp_path / "good.png"
    Image.fromarray(255 - mnist.X_test[1].reshape(28, 28)).save(good)
    blank = tmp_path / "blank.png"
    Image.new("L", (40, 40), 255).save(blank)
    text = tmp_path / "notes.jpg"
    text.write_text("not a picture")
    wrong = tmp_path / "wrong.npy"
    np.save(wrong, np.zeros((10, 10)))
    missing = tmp_path / "missing.png"
    result = run_cli("predict", model_file, blank, good, text, wrong, missing)
    assert result.code == 2
    assert result.out.splitlines()[0].startswith(f"{good}\t2\t")
    errors = result.err.splitlines()
    assert len(errors) == 4
    for path, error in zip([blank, text, wrong, missing], errors, strict=True):
        assert error.startswith("mnist-logreg: error: ") and str(path) in error


def test_bad_model_or_options_exit_2(model_file: Path, tmp_path: Path, run_cli) -> None:
    """Test usage and model errors: exit code 2 with one line on stderr."""
    picture = tmp_path / "x.png"
    Image.new("L", (10, 10)).save(picture)
    missing = run_cli("predict", tmp_path / "none.npz", picture)
    assert missing.code == 2 and "model file not found" in missing.err
    not_a_model = run_cli("predict", picture, picture)
    assert not_a_model.code == 2 and "is a PNG picture, not a model file" in not_a_model.err
    text = tmp_path / "notes.txt"
    text.write_text("not a model")
    not_a_zip = run_cli("predict", text, picture)
    assert not_a_zip.code == 2 and "not a valid mnist-logreg model file" in not_a_zip.err
    top = run_cli("predict", model_file, picture, "--top", "0")
    assert top.code == 2 and "--top" in top.err
    for result in (missing, not_a_model, not_a_zip, top):
        assert len(result.err.strip().splitlines()) == 1


def _one_clean_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_swapped_arguments_are_named(mnist, model_file: Path, tmp_path: Path, run_cli) -> None:
    """Test 'predict x.npy model.npz' and a picture as MODEL: exit 2, one line saying so."""
    npy = tmp_path / "x.npy"
    np.save(npy, mnist.X_test[:2])
    swapped = run_cli("predict", npy, model_file)
    assert swapped.code == 2 and swapped.out == ""
    line = _one_clean_line(swapped.err)
    assert line.startswith("mnist-logreg: error: arguments swapped? MODEL ")
    assert f"{npy} is a .npy array and FILE {model_file} looks like a model file" in line
    picture = tmp_path / "seven.png"
    Image.fromarray(mnist.X_test[0].reshape(28, 28)).save(picture)
    not_a_model = run_cli("predict", picture, npy)
    assert not_a_model.code == 2
    assert f"MODEL {picture} is a PNG picture, not a model file" in _one_clean_line(not_a_model.err)


def test_broken_npy_is_named_and_the_others_still_predicted(
    mnist, model_file: Path, tmp_path: Path, run_cli
) -> None:
    """Test a 26-byte .npy with a broken header between good files: named, others predicted."""
    first = tmp_path / "first.npy"
    np.save(first, mnist.X_test[:2])
    broken = tmp_path / "broken.npy"
    broken.write_bytes(b"\x93NUMPY\x01\x00\x10\x00{broken header!!")
    last = tmp_path / "last.png"
    Image.fromarray(mnist.X_test[2].reshape(28, 28)).save(last)
    result = run_cli("predict", model_file, first, broken, model_file, last, "--json")
    assert result.code == 2
    entries = json.loads(result.out)
    assert [(Path(e["file"]).name, e["index"]) for e in entries] == [
        ("first.npy", 0),
        ("first.npy", 1),
        ("last.png", None),
    ]
    expected = load_model(model_file).predict(mnist.X_test[:3])
    assert [e["label"] for e in entries] == expected.tolist()
    errors = result.err.splitlines()
    assert "Traceback" not in result.err and len(errors) == 2
    assert errors[0] == (
        f"mnist-logreg: error: {broken}: not a valid .npy array "
        "(the header is not a Python dict literal)"
    )
    assert errors[1].startswith(f"mnist-logreg: error: {model_file}: a zip archive")


def test_out_of_memory_names_the_input(
    mnist, model_file: Path, tmp_path: Path, run_cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Test MemoryError reading one file (named, exit 1, others predicted) and loading the model."""
    import mnist_logreg.cli.predict as predict_module

    good = tmp_path / "good.npy"
    np.save(good, mnist.X_test[:1])
    huge = tmp_path / "huge.npy"
    np.save(huge, mnist.X_test[:1])
    real = predict_module.load_digit_file

    def load(path, **kwargs):
        if Path(path) == huge:
            raise MemoryError
        return real(path, **kwargs)

    monkeypatch.setattr(predict_module, "load_digit_file", load)
    result = run_cli("predict", model_file, huge, good)
    assert result.code == 1 and result.out.startswith(f"{good}\t7\t")
    assert (
        _one_clean_line(result.err)
        == f"mnist-logreg: error: {huge}: out of memory reading this file"
    )

    def no_memory(path):
        raise MemoryError

    monkeypatch.setattr(predict_module, "load_model", no_memory)
    model_oom = run_cli("predict", model_file, good)
    line = _one_clean_line(model_oom.err)
    assert model_oom.code == 1 and line.startswith("mnist-logreg: error: predict: out of memory")
    assert "--max-train" not in line
