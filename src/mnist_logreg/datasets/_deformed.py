"""Deformed digits in the spirit of infinite MNIST: image ``i`` made alone from ``(seed, i)``.

Image ``i`` of seed ``s`` is training digit ``i mod 60,000`` of the bundled MNIST (never a test
image), resampled through one random smooth deformation (G. Loosli, S. Canu, L. Bottou, "Training
invariant support vector machines using selective sampling", 2007, made 8.1 million such digits,
MNIST8M). The deformation of output pixel ``p`` (row, column; centre ``c = (13.5, 13.5)``) reads
the source at::

    source(p) = M^-1 (p - c - t) + c + alpha * gaussian_filter(u, sigma)(p)

- ``M = R(theta) @ S(scale) @ H(shear)``: a small affine map, ``theta`` uniform in
  ``+-max_rotation`` degrees, ``scale`` uniform in ``[1 - max_scale, 1 + max_scale]``, ``shear``
  uniform in ``+-max_shear``; ``t`` a translation uniform in ``+-max_translation`` pixels per axis;
- ``u``: two fields (rows, columns) of uniform noise in ``[-1, 1]``, smoothed by a Gaussian of
  standard deviation ``sigma`` pixels (zero beyond the frame) and scaled by ``alpha``: the elastic
  distortion of P. Y. Simard, D. Steinkraus, J. C. Platt, "Best practices for convolutional neural
  networks applied to visual document analysis", ICDAR 2003 (``alpha = 34``, ``sigma = 4``
  there; our default ``alpha`` is 20, see :class:`DeformationParams`).

The source is sampled bilinearly (zero outside the frame), rounded and clipped to uint8; the label
is the source digit's. Each image draws its numbers from its own stream, ``numpy.random.Generator(
PCG64(SeedSequence(seed, spawn_key=(i,))))``: six uniforms (theta, scale, shear, two translations
and one unused, reserved), then the noise field ``(2, 28, 28)``. The smoothing and resampling run
vectorized over a batch, image by image independent (the Gaussian acts on the pixel axes only and
the bilinear weights of the batch axis are exactly 0 or 1), so an image is the same whichever batch
it is generated in. Bit-for-bit equality holds for the same NumPy and SciPy builds; a store's
manifest records their versions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from mnist_logreg.errors import InputError

__all__ = [
    "GENERATOR_NAME",
    "GENERATOR_VERSION",
    "DeformationParams",
    "DeformedDigits",
]

GENERATOR_NAME = "deformed-mnist"
#: Bumped whenever the images of a given ``(seed, i)`` change.
GENERATOR_VERSION = 1
_N_AFFINE_DRAWS = 6
_BATCH = 512


@dataclass(frozen=True)
class DeformationParams:
    """How strongly each digit is deformed.

    Attributes
    ----------
    alpha : float, default 20.0
        Scale of the elastic displacement field, in pixels (Simard et al. 2003 used 34).
    sigma : float, default 4.0
        Standard deviation of the Gaussian smoothing the field, in pixels (Simard's 4).
    max_rotation : float, default 8.0
        Largest rotation, in degrees.
    max_scale : float, default 0.08
        Scale factors are uniform in ``[1 - max_scale, 1 + max_scale]``.
    max_shear : float, default 0.15
        Largest horizontal shear (column shift per row).
    max_translation : float, default 1.0
        Largest shift along each axis, in pixels.

    Notes
    -----
    The defaults are milder than Simard's elastic distortion (made for convolutional networks):
    a logistic regression fitted on 20,000 MNIST training digits (C = 0.05, pixels / 255) scores
    91.2% on 2,000 other training digits and 72.8% on their deformed versions with these
    defaults, 53.5% with Simard's ``alpha = 34`` plus a 10 degree, 10%, 0.2 shear, 1.5 pixel
    affine map; a 1-pixel shift alone gives 87.3%. The digits stay readable either way (look at
    a sheet of them before changing these).
    """

    alpha: float = 20.0
    sigma: float = 4.0
    max_rotation: float = 8.0
    max_scale: float = 0.08
    max_shear: float = 0.15
    max_translation: float = 1.0

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
                raise InputError(
                    f"The {name!r} parameter of DeformationParams must be a finite number >= 0. "
                    f"Got {value!r} instead."
                )
        if self.max_scale >= 1:
            raise InputError(
                f"The 'max_scale' parameter of DeformationParams must be < 1. "
                f"Got {self.max_scale!r} instead."
            )

    def as_dict(self) -> dict[str, float]:
        """Return the parameters as a JSON-ready dict."""
        return {key: float(value) for key, value in asdict(self).items()}


class DeformedDigits:
    """Generator of deformed digits from source images (the bundled MNIST training digits).

    Parameters
    ----------
    images : ndarray of shape (n_sources, height, width), dtype uint8
        The source digits; image ``i`` deforms source ``i mod n_sources``.
    labels : ndarray of shape (n_sources,)
        Their labels.
    params : DeformationParams, optional
        Deformation strengths (defaults: Simard's elastic field plus a small affine map).

    Examples
    --------
    >>> gen = DeformedDigits.from_mnist()                # doctest: +SKIP
    >>> images, labels = gen.generate(seed=0, start=0, stop=100)  # doctest: +SKIP
    >>> images.shape, images.dtype                       # doctest: +SKIP
    ((100, 28, 28), dtype('uint8'))
    """

    def __init__(
        self,
        images: np.ndarray,
        labels: np.ndarray,
        params: DeformationParams | None = None,
    ) -> None:
        images = np.asarray(images)
        labels = np.asarray(labels)
        if images.ndim != 3 or images.dtype != np.uint8 or images.shape[0] == 0:
            raise InputError(
                "The 'images' parameter of DeformedDigits must be a non-empty uint8 array of "
                f"shape (n_sources, height, width). Got {images.dtype} {images.shape} instead."
            )
        if labels.shape != images.shape[:1]:
            raise InputError(
                f"The 'labels' parameter of DeformedDigits must have shape ({images.shape[0]},). "
                f"Got {labels.shape} instead."
            )
        self.images = images
        self.labels = labels
        self.params = params if params is not None else DeformationParams()

    @classmethod
    def from_mnist(cls, params: DeformationParams | None = None) -> DeformedDigits:
        """The generator over the 60,000 bundled MNIST training digits (checksums verified)."""
        from mnist_logreg.datasets._sources import load_dataset

        mnist = load_dataset("mnist")
        images = mnist.X_train.reshape(-1, *mnist.image_shape)
        return cls(images, mnist.y_train.astype(np.uint8), params)

    @property
    def n_sources(self) -> int:
        """Number of source digits."""
        return int(self.images.shape[0])

    def generate(self, seed: int, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        """Generate images ``start .. stop - 1`` of ``seed``.

        Parameters
        ----------
        seed : int
            Seed of the data set (>= 0).
        start, stop : int
            Half-open range of image indices, ``0 <= start <= stop``.

        Returns
        -------
        images : ndarray of shape (stop - start, height, width), dtype uint8
        labels : ndarray of shape (stop - start,), dtype uint8
            The source digits' labels.
        """
        _check_index("seed", seed)
        _check_index("start", start)
        _check_index("stop", stop)
        if stop < start:
            raise InputError(f"The 'stop' parameter ({stop}) must be >= 'start' ({start}).")
        return self.generate_indices(seed, range(start, stop))

    def generate_indices(
        self, seed: int, indices: Sequence[int] | np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Generate the images of the given indices (any order, repeats allowed).

        Parameters
        ----------
        seed : int
            Seed of the data set (>= 0).
        indices : sequence of int
            Image indices (>= 0).

        Returns
        -------
        images : ndarray of shape (len(indices), height, width), dtype uint8
        labels : ndarray of shape (len(indices),), dtype uint8
        """
        _check_index("seed", seed)
        index = np.asarray(indices, dtype=np.int64).reshape(-1)
        if index.size and index.min() < 0:
            raise InputError(f"image indices must be >= 0. Got {int(index.min())} instead.")
        height, width = self.images.shape[1:]
        n = index.size
        affine = np.empty((n, _N_AFFINE_DRAWS))
        noise = np.empty((n, 2, height, width))
        for row, i in enumerate(index.tolist()):
            rng = np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(i,)))
            affine[row] = rng.random(_N_AFFINE_DRAWS)
            noise[row] = rng.random((2, height, width))
        sources = index % self.n_sources
        images = np.empty((n, height, width), np.uint8)
        for begin in range(0, n, _BATCH):  # batches small enough to stay in cache
            end = min(begin + _BATCH, n)
            images[begin:end] = self._deform(
                self.images[sources[begin:end]], affine[begin:end], noise[begin:end]
            )
        return images, self.labels[sources].astype(np.uint8)

    def _deform(self, sources: np.ndarray, affine: np.ndarray, noise: np.ndarray) -> np.ndarray:
        """Resample each source through its affine map and smoothed displacement field."""
        from scipy.ndimage import gaussian_filter, map_coordinates

        p = self.params
        n, height, width = sources.shape
        if n == 0:
            return np.empty((0, height, width), np.uint8)
        # Elastic field: uniform [-1, 1], Gaussian on the pixel axes only, zero beyond the frame.
        field = gaussian_filter(
            noise * 2.0 - 1.0, sigma=(0.0, 0.0, p.sigma, p.sigma), mode="constant", cval=0.0
        )
        field *= p.alpha
        theta = np.deg2rad((affine[:, 0] * 2 - 1) * p.max_rotation)
        scale = 1.0 + (affine[:, 1] * 2 - 1) * p.max_scale
        shear = (affine[:, 2] * 2 - 1) * p.max_shear
        shift = (affine[:, 3:5] * 2 - 1) * p.max_translation  # (n, 2): rows, columns
        # M = R S H acting on (row, col) vectors; its inverse maps output pixels to sources.
        cos, sin = np.cos(theta), np.sin(theta)
        rotation = np.stack([np.stack([cos, -sin], -1), np.stack([sin, cos], -1)], -2)
        shearing = np.zeros((n, 2, 2))
        shearing[:, 0, 0] = shearing[:, 1, 1] = 1.0
        shearing[:, 1, 0] = shear  # column += shear * row
        forward = rotation @ shearing * scale[:, None, None]
        inverse = np.linalg.inv(forward)[:, :, :, None, None]  # (n, 2, 2, 1, 1)
        centre_row, centre_col = (height - 1) / 2.0, (width - 1) / 2.0
        rows = np.arange(height, dtype=np.float64)[None, :, None]
        cols = np.arange(width, dtype=np.float64)[None, None, :]
        d_row = rows - centre_row - shift[:, 0, None, None]  # (n, h, 1): p - c - t
        d_col = cols - centre_col - shift[:, 1, None, None]  # (n, 1, w)
        coordinates = np.empty((3, n, height, width))
        coordinates[0] = np.arange(n, dtype=np.float64)[:, None, None]  # the image: exact
        coordinates[1] = inverse[:, 0, 0] * d_row + inverse[:, 0, 1] * d_col + centre_row
        coordinates[2] = inverse[:, 1, 0] * d_row + inverse[:, 1, 1] * d_col + centre_col
        coordinates[1:] += field.transpose(1, 0, 2, 3)
        out = map_coordinates(
            sources.astype(np.float64), coordinates, order=1, mode="constant", cval=0.0
        )
        np.rint(out, out=out)
        np.clip(out, 0, 255, out=out)
        return out.astype(np.uint8)

    def description(self) -> dict[str, Any]:
        """The generator's name, version and parameters, as written in a store's manifest."""
        return {
            "name": GENERATOR_NAME,
            "version": GENERATOR_VERSION,
            "params": self.params.as_dict(),
            "n_sources": self.n_sources,
        }


def _check_index(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
        raise InputError(f"The {name!r} parameter must be an integer >= 0. Got {value!r} instead.")
