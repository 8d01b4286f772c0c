"""Tests of the deformed-digit generator: determinism, independence of batches, valid digits."""

from __future__ import annotations

import numpy as np
import pytest

from mnist_logreg.datasets import DeformationParams, DeformedDigits, load_dataset
from mnist_logreg.errors import InputError


@pytest.fixture(scope="module")
def generator() -> DeformedDigits:
    """The generator over the bundled MNIST training digits (loaded once)."""
    return DeformedDigits.from_mnist()


def test_same_seed_and_index_give_the_same_image(generator: DeformedDigits) -> None:
    """Test that two calls with the same seed and range return identical images and labels."""
    first = generator.generate(7, 100, 140)
    second = generator.generate(7, 100, 140)
    assert np.array_equal(first[0], second[0]) and np.array_equal(first[1], second[1])


def test_each_image_regenerated_alone_is_identical(generator: DeformedDigits) -> None:
    """Test that image i generated alone equals image i of a batch (here a batch of 1,100)."""
    images, labels = generator.generate(3, 0, 1100)
    for i in (0, 1, 511, 512, 513, 1023, 1099):  # both sides of the internal 512-image batches
        alone, label = generator.generate(3, i, i + 1)
        assert np.array_equal(alone[0], images[i]), i
        assert label[0] == labels[i]
    picked, _ = generator.generate_indices(3, [1099, 5, 5, 700])
    assert np.array_equal(picked, images[[1099, 5, 5, 700]])


def test_different_seeds_and_repeats_differ(generator: DeformedDigits) -> None:
    """Test that other seeds, and index i + 60,000 (same source), give other images."""
    seed0, labels0 = generator.generate(0, 0, 50)
    seed1, labels1 = generator.generate(1, 0, 50)
    repeat, labels_repeat = generator.generate(0, 60_000, 60_050)
    assert np.array_equal(labels0, labels1) and np.array_equal(labels0, labels_repeat)
    differ = [not np.array_equal(a, b) for a, b in zip(seed0, seed1, strict=True)]
    assert all(differ)
    assert all(not np.array_equal(a, b) for a, b in zip(seed0, repeat, strict=True))


def test_labels_are_the_training_sources_labels(generator: DeformedDigits) -> None:
    """Test that image i carries the label of training digit i mod 60,000 (never a test digit)."""
    mnist = load_dataset("mnist")
    _, labels = generator.generate(0, 59_990, 60_010)
    expected = mnist.y_train[np.r_[59_990:60_000, 0:10]]
    assert labels.dtype == np.uint8
    assert np.array_equal(labels, expected)
    assert generator.n_sources == 60_000


def test_no_deformation_returns_the_sources_exactly(generator: DeformedDigits) -> None:
    """Test that zero strengths reproduce the source digits bit for bit (the geometry is exact)."""
    identity = DeformedDigits(
        generator.images,
        generator.labels,
        DeformationParams(0.0, 4.0, 0.0, 0.0, 0.0, 0.0),
    )
    images, _ = identity.generate(5, 60_000, 60_200)
    assert np.array_equal(images, generator.images[:200])


def test_translation_moves_the_ink(generator: DeformedDigits) -> None:
    """Test that a pure translation of at most 1 pixel moves each digit's centre by at most 1."""
    shift_only = DeformedDigits(
        generator.images,
        generator.labels,
        DeformationParams(0.0, 4.0, 0.0, 0.0, 0.0, 1.0),
    )
    images, _ = shift_only.generate(0, 0, 200)
    rows = np.arange(28)[None, :, None]

    def centre_row(x: np.ndarray) -> np.ndarray:
        x = x.astype(float)
        return (x * rows).sum((1, 2)) / x.sum((1, 2))

    moved = centre_row(images) - centre_row(generator.images[:200])
    assert np.abs(moved).max() <= 1.05
    assert np.abs(moved).mean() > 0.2  # it does move


def test_generated_digits_stay_valid(generator: DeformedDigits) -> None:
    """Test that deformed digits keep their ink: mean intensity, mass per image, inside frame."""
    images, _ = generator.generate(0, 1000, 1300)
    sources = generator.images[1000:1300].astype(float)
    assert images.dtype == np.uint8 and images.shape == (300, 28, 28)
    assert abs(images.mean() - sources.mean()) < 0.05 * sources.mean()
    ratio = images.reshape(300, -1).sum(1) / sources.reshape(300, -1).sum(1)
    assert 0.5 < ratio.min() and ratio.max() < 1.8
    inner = images[:, 2:26, 2:26].reshape(300, -1).sum(1) / images.reshape(300, -1).sum(1)
    assert inner.mean() > 0.97 and inner.min() > 0.8
    assert images.max() >= 250  # strokes stay dark: the resampling does not blur them away


def test_generated_digits_are_recognisable(generator: DeformedDigits) -> None:
    """Test that a nearest-class-mean classifier of the originals reads most deformed digits."""
    X = generator.images.reshape(60_000, -1).astype(np.float64)
    means = np.stack([X[generator.labels == k].mean(0) for k in range(10)])
    images, labels = generator.generate(0, 2000, 2300)
    flat = images.reshape(300, -1).astype(np.float64)
    distances = ((flat[:, None, :] - means[None]) ** 2).sum(-1)
    accuracy = (distances.argmin(1) == labels).mean()
    sources = X[2000:2300]
    baseline = (((sources[:, None, :] - means[None]) ** 2).sum(-1).argmin(1) == labels).mean()
    assert baseline > 0.75
    assert accuracy > 0.6
    assert accuracy < baseline  # and they are deformed


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"alpha": -1.0}, "alpha"),
        ({"sigma": float("nan")}, "sigma"),
        ({"max_scale": 1.0}, "max_scale"),
    ],
)
def test_bad_parameters_are_named(kwargs: dict[str, float], name: str) -> None:
    """Test that an unusable deformation strength raises InputError naming the parameter."""
    with pytest.raises(InputError, match=name):
        DeformationParams(**kwargs)


def test_bad_ranges_are_refused(generator: DeformedDigits) -> None:
    """Test that negative seeds or indices and a reversed range raise InputError."""
    with pytest.raises(InputError, match="seed"):
        generator.generate(-1, 0, 1)
    with pytest.raises(InputError, match="stop"):
        generator.generate(0, 5, 4)
    with pytest.raises(InputError, match="indices"):
        generator.generate_indices(0, [3, -2])
