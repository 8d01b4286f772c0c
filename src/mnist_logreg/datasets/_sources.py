"""Named data sources: ``mnist``, ``fashion-mnist``, ``digits``, ``idx:DIR``, ``openml:NAME``,
``zarr:DIR``.

Every source returns a :class:`~mnist_logreg.datasets.Dataset` of raw pixels. Sources:

``mnist``
    The bundled MNIST IDX files (Y. LeCun, C. Cortes, C. J. C. Burges), their SHA-256 verified on
    every load (11 MB, a few tens of milliseconds). The canonical split: 60,000 training and
    10,000 test images, which are rows 0-59,999 and 60,000-69,999 of OpenML ``mnist_784``.
``fashion-mnist``
    Zalando's Fashion-MNIST (H. Xiao, K. Rasul, R. Vollgraf, 2017) in IDX format, read from the
    folder given by option ``path``, else the environment variable
    ``MNIST_LOGREG_FASHION_MNIST_DIR``, else ``/usr/share/datasets/fashion-mnist`` (Debian package
    ``dataset-fashion-mnist``).
``digits``
    scikit-learn's 8x8 digits (UCI optical recognition of handwritten digits, 1,797 images,
    pixels 0..16), split by ``train_test_split(test_size=0.25, random_state=0, stratify=y)``:
    1,347 training and 450 test images. 0.25 is scikit-learn's own default test fraction and
    leaves about 45 test images per class; the fixed seed makes the split the same everywhere.
``idx:DIR``
    Any folder with ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
    ``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte``, each plain or gzipped (``.gz``).
    If the folder has a ``SHA256SUMS`` manifest, the files it lists are verified. Without
    ``class_names``, the classes are the distinct training labels (see
    :mod:`mnist_logreg.datasets._idx_folder` for the order of the checks).
``openml:NAME``
    ``sklearn.datasets.fetch_openml(NAME, version=1, as_frame=False)``, cached by scikit-learn
    (``data_home``, default ``~/scikit_learn_data``). The first ``n - test_size`` rows are the
    training set and the last ``test_size`` (default 10,000: the canonical split of
    ``mnist_784`` and ``Fashion-MNIST``) the test set.
``zarr:DIR``
    A chunked store of generated digits written by ``mnist-logreg datasets build deformed-mnist``
    (see :mod:`mnist_logreg.datasets._zarr_source`): its images are the training set, MNIST's
    original 10,000 test images the test set. :func:`load_dataset` reads it whole;
    :func:`~mnist_logreg.datasets.open_zarr_dataset` opens it lazily as Dask arrays.
"""

from __future__ import annotations

import importlib.util
import logging
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from mnist_logreg.datasets._dataset import Dataset
from mnist_logreg.datasets._idx_folder import IDX_FILE_NAMES, idx_folder_info, load_idx_folder
from mnist_logreg.errors import DataFormatError, InputError, MnistLogregError

logger = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_FASHION_MNIST_DIR",
    "FASHION_MNIST_CLASSES",
    "FASHION_MNIST_ENV",
    "IDX_FILE_NAMES",
    "SOURCE_NAMES",
    "SourceInfo",
    "list_sources",
    "load_dataset",
]

FASHION_MNIST_ENV = "MNIST_LOGREG_FASHION_MNIST_DIR"
DEFAULT_FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_MNIST_CLASSES: tuple[str, ...] = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Bag",
    "Sneaker",
    "Ankle boot",
)
MNIST_CLASSES: tuple[str, ...] = tuple(str(digit) for digit in range(10))

_MNIST_ORIGIN = "Y. LeCun, C. Cortes, C. J. C. Burges"
_FASHION_ORIGIN = "H. Xiao, K. Rasul, R. Vollgraf (Zalando Research, 2017)"
_DIGITS_ORIGIN = "UCI optical recognition of handwritten digits (E. Alpaydin, C. Kaynak)"
_FASHION_HOWTO = (
    f"install it with 'apt-get install dataset-fashion-mnist' (into {DEFAULT_FASHION_MNIST_DIR}), "
    f"or set {FASHION_MNIST_ENV} to a folder holding the four IDX files"
)


@dataclass(frozen=True)
class SourceInfo:
    """What is known about a source without loading its images.

    Attributes
    ----------
    name : str
        Name to pass to :func:`load_dataset` (``idx:DIR`` and ``openml:NAME`` are patterns).
    description : str
        One line: what the data are.
    origin : str
        Who made the data / where they come from.
    location : str
        Folder or service the data are read from.
    available : bool or None
        Whether it can be loaded here now; None where it depends on the argument.
    status : str
        ``"yes"``, or why not / what it depends on.
    n_train, n_test : int or None
        Split sizes where cheaply known.
    train_class_counts, test_class_counts : tuple of int or None
        Images per class where cheaply known.
    image_shape : tuple of int or None
        Shape of one image where cheaply known.
    """

    name: str
    description: str
    origin: str
    location: str
    available: bool | None
    status: str
    n_train: int | None = None
    n_test: int | None = None
    train_class_counts: tuple[int, ...] | None = None
    test_class_counts: tuple[int, ...] | None = None
    image_shape: tuple[int, ...] | None = None

    def as_dict(self) -> dict[str, Any]:
        """Return the fields as a JSON-ready dict."""
        return {
            key: list(value) if isinstance(value, tuple) else value
            for key, value in asdict(self).items()
        }


# ----------------------------------------------------------------------------- mnist


def bundled_mnist_dir() -> Path:
    """Return the folder of the bundled MNIST IDX files and their ``SHA256SUMS``."""
    return Path(str(resources.files("mnist_logreg.datasets").joinpath("data", "mnist")))


def _load_mnist() -> Dataset:
    return load_idx_folder(
        bundled_mnist_dir(),
        name="mnist",
        source=f"MNIST handwritten digits ({_MNIST_ORIGIN}), bundled IDX files, "
        "canonical 60,000/10,000 split (= OpenML mnist_784 rows 0-59,999 / 60,000-69,999)",
        class_names=MNIST_CLASSES,
        require_sums=True,
    )


def _mnist_info() -> SourceInfo:
    folder = bundled_mnist_dir()
    return _info_from_folder(
        name="mnist",
        description="MNIST handwritten digits 0-9, 28x28 grey levels (bundled, default)",
        origin=_MNIST_ORIGIN,
        folder=folder,
        class_names=MNIST_CLASSES,
        missing_hint="reinstall mnist-logreg: the bundled files are missing",
    )


def _info_from_folder(
    *,
    name: str,
    description: str,
    origin: str,
    folder: Path,
    class_names: Sequence[str],
    missing_hint: str,
) -> SourceInfo:
    try:
        if not folder.is_dir():
            reason = f"no: folder not found; {missing_hint}"
            return SourceInfo(name, description, origin, str(folder), False, reason)
        details = idx_folder_info(folder, name=name, class_names=class_names)
    except (MnistLogregError, OSError, MemoryError) as exc:  # a bad path, a malformed file
        return SourceInfo(name, description, origin, str(folder), False, f"no: {_reason(exc)}")
    return SourceInfo(name, description, origin, str(folder), True, "yes", **details)


def _reason(exc: BaseException) -> str:
    """One line saying why a source is unavailable."""
    if isinstance(exc, MemoryError):
        return "out of memory while reading its label files"
    return " ".join(str(exc).split()) or type(exc).__name__


# ----------------------------------------------------------------------------- fashion-mnist


def fashion_mnist_dir(path: str | os.PathLike[str] | None = None) -> Path:
    """Return the Fashion-MNIST folder: ``path``, else ``$MNIST_LOGREG_FASHION_MNIST_DIR``,
    else ``/usr/share/datasets/fashion-mnist``."""
    if path is not None:
        return Path(path)
    from_env = os.environ.get(FASHION_MNIST_ENV)
    return Path(from_env) if from_env else DEFAULT_FASHION_MNIST_DIR


def _load_fashion_mnist(path: str | os.PathLike[str] | None = None) -> Dataset:
    folder = fashion_mnist_dir(path)
    if not folder.is_dir():
        raise InputError(f"fashion-mnist: folder {folder} does not exist; {_FASHION_HOWTO}")
    return load_idx_folder(
        folder,
        name="fashion-mnist",
        source=f"Fashion-MNIST ({_FASHION_ORIGIN}), IDX files in {folder}",
        class_names=FASHION_MNIST_CLASSES,
    )


def _fashion_mnist_info() -> SourceInfo:
    return _info_from_folder(
        name="fashion-mnist",
        description="Zalando Fashion-MNIST: 10 clothing classes, 28x28 grey levels",
        origin=_FASHION_ORIGIN,
        folder=fashion_mnist_dir(),
        class_names=FASHION_MNIST_CLASSES,
        missing_hint=f"apt-get install dataset-fashion-mnist, or set {FASHION_MNIST_ENV}",
    )


# ----------------------------------------------------------------------------- digits


def _load_digits(test_size: float = 0.25, random_state: int = 0) -> Dataset:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    bunch = load_digits()
    X = bunch.data.astype(np.uint8)  # integral values 0..16
    y = bunch.target.astype(np.int64)
    try:
        X_train, X_test, y_train, y_test = train_test_split(
            X, y, test_size=test_size, random_state=random_state, stratify=y
        )
    except (TypeError, ValueError) as exc:
        raise InputError(f"digits: bad split option test_size={test_size!r}: {exc}") from None
    return Dataset(
        name="digits",
        X_train=X_train,
        y_train=y_train,
        X_test=X_test,
        y_test=y_test,
        image_shape=(8, 8),
        pixel_max=16.0,
        class_names=MNIST_CLASSES,
        source=f"scikit-learn 8x8 digits ({_DIGITS_ORIGIN}), stratified split "
        f"test_size={test_size}, random_state={random_state}",
        checksums={},
    )


def _digits_info() -> SourceInfo:
    description = "scikit-learn's 8x8 digits 0-9, pixels 0..16, seeded stratified 75/25 split"
    try:
        dataset = _load_digits()
    except (ImportError, OSError, MnistLogregError) as exc:
        return SourceInfo(
            "digits", description, _DIGITS_ORIGIN, "scikit-learn", False, f"no: {exc}"
        )
    return SourceInfo(
        "digits",
        description,
        _DIGITS_ORIGIN,
        "bundled with scikit-learn",
        True,
        "yes",
        n_train=int(dataset.y_train.size),
        n_test=int(dataset.y_test.size),
        train_class_counts=tuple(int(c) for c in dataset.class_counts("train")),
        test_class_counts=tuple(int(c) for c in dataset.class_counts("test")),
        image_shape=dataset.image_shape,
    )


# ----------------------------------------------------------------------------- openml


def _openml_home(data_home: str | os.PathLike[str] | None) -> str:
    if data_home is not None:
        return str(data_home)
    return os.environ.get("SCIKIT_LEARN_DATA", str(Path("~", "scikit_learn_data")))


def _label_order_key(value: str) -> tuple[int, float, str]:
    """Sort numeric labels by value ('2' before '10'), others after them as strings."""
    try:
        return (0, float(value), value)
    except ValueError:
        return (1, 0.0, value)


def _encode_labels(target: np.ndarray) -> tuple[np.ndarray, tuple[str, ...]]:
    """Map labels to 0..k-1 in sorted order; return the codes and the original names."""
    names = np.array([_label_name(v) for v in target.tolist()], dtype=object)
    unique, inverse = np.unique(names.astype(str), return_inverse=True)
    order = sorted(range(len(unique)), key=lambda i: _label_order_key(str(unique[i])))
    rank = np.empty(len(unique), dtype=np.int64)
    rank[order] = np.arange(len(unique))
    return rank[inverse.reshape(-1)], tuple(str(unique[i]) for i in order)


def _label_name(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _load_openml(
    dataset_name: str,
    name: str,
    version: int | str = 1,
    test_size: int = 10_000,
    data_home: str | os.PathLike[str] | None = None,
    parser: str | None = None,
    image_shape: Sequence[int] | None = None,
) -> Dataset:
    import sklearn.datasets

    if parser is None:
        parser = "pandas" if importlib.util.find_spec("pandas") is not None else "liac-arff"
    try:
        bunch = sklearn.datasets.fetch_openml(
            dataset_name, version=version, as_frame=False, parser=parser, data_home=data_home
        )
    except (OSError, TimeoutError) as exc:  # URLError and HTTPError are OSErrors
        reason = getattr(exc, "reason", None) or exc
        raise MnistLogregError(
            f"could not download OpenML dataset {dataset_name} (offline? once downloaded, "
            f"scikit-learn caches it in {_openml_home(data_home)}): {reason}"
        ) from None
    except (ValueError, ImportError) as exc:  # unknown name or version, inactive, bad parser
        raise InputError(f"OpenML dataset {dataset_name}: {exc}") from None

    X = bunch.data
    if hasattr(X, "toarray"):
        X = X.toarray()
    try:
        X = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError):
        raise DataFormatError(f"{name}: features are not all numeric") from None
    if X.ndim != 2:
        raise DataFormatError(f"{name}: expected a 2-D feature table, got shape {X.shape}")
    if not np.isfinite(X).all():
        raise DataFormatError(f"{name}: has missing or infinite feature values (not supported)")
    target = bunch.target
    if target is None or np.ndim(target) != 1:
        raise InputError(f"{name}: needs exactly one target column, got {np.shape(target)}")
    y, class_names = _encode_labels(np.asarray(target))

    n_samples, n_features = X.shape
    if not (isinstance(test_size, int | np.integer) and 0 < test_size < n_samples):
        raise InputError(
            f"{name}: test_size must be an integer between 1 and {n_samples - 1} "
            f"(rows: {n_samples}). Got {test_size!r} instead."
        )
    if image_shape is None:
        side = math.isqrt(n_features)
        image_shape = (side, side) if side * side == n_features else (n_features,)
    elif math.prod(image_shape) != n_features:
        raise InputError(
            f"{name}: image_shape {tuple(image_shape)} does not hold {n_features} features"
        )
    if X.size and (X == np.round(X)).all() and X.min() >= 0 and X.max() <= 255:
        X, pixel_max = X.astype(np.uint8), 255.0
    else:
        pixel_max = max(float(np.abs(X).max()) if X.size else 0.0, 1.0)
    n_train = n_samples - test_size
    details = getattr(bunch, "details", None) or {}
    return Dataset(
        name=name,
        X_train=X[:n_train],
        y_train=y[:n_train],
        X_test=X[n_train:],
        y_test=y[n_train:],
        image_shape=tuple(image_shape),
        pixel_max=pixel_max,
        class_names=class_names,
        source=f"OpenML dataset {dataset_name} (version {details.get('version', version)}, "
        f"id {details.get('id', '?')}) via scikit-learn fetch_openml; rows 0-{n_train - 1} "
        f"train, last {test_size} test",
        checksums={},
    )


def _openml_info() -> SourceInfo:
    return SourceInfo(
        "openml:NAME",
        "any OpenML data set, e.g. openml:mnist_784; last 10,000 rows are the test set",
        "openml.org via scikit-learn fetch_openml",
        f"downloaded on demand, cached in {_openml_home(None)}",
        None,
        "download on demand",
    )


def _idx_info() -> SourceInfo:
    return SourceInfo(
        "idx:DIR",
        "any folder with the four standard IDX files (" + ", ".join(IDX_FILE_NAMES) + "; or .gz)",
        "yours",
        "DIR",
        None,
        "give a folder: idx:DIR",
    )


def _zarr_info() -> SourceInfo:
    from mnist_logreg.datasets._zarr_source import zarr_info

    return SourceInfo(**zarr_info())


def _load_idx(argument: str, name: str, class_names: Sequence[str] | None = None) -> Dataset:
    folder = Path(argument).expanduser()
    return load_idx_folder(folder, name=name, source=f"IDX files in {folder}",
                           class_names=class_names)


def _load_zarr(argument: str, name: str) -> Dataset:
    from mnist_logreg.datasets._zarr_source import load_zarr_dataset

    return load_zarr_dataset(argument, name=name)


# ----------------------------------------------------------------------------- registry

@dataclass(frozen=True)
class _Source:
    """How :func:`load_dataset` loads a source and :func:`list_sources` describes it.

    ``name`` is as listed (``idx:DIR`` for a pattern); ``argument`` says, for a pattern, what
    must follow the colon (``load`` then gets it first, and the dataset's full name).
    """

    name: str
    load: Callable[..., Dataset]
    describe: Callable[[], SourceInfo]
    options: frozenset[str] = frozenset()
    argument: str = ""


_SOURCES: dict[str, _Source] = {source.name.partition(":")[0]: source for source in (
    _Source("mnist", _load_mnist, _mnist_info),
    _Source("fashion-mnist", _load_fashion_mnist, _fashion_mnist_info, frozenset({"path"})),
    _Source("digits", _load_digits, _digits_info, frozenset({"test_size", "random_state"})),
    _Source("idx:DIR", _load_idx, _idx_info, frozenset({"class_names"}), "a folder"),
    _Source("openml:NAME", _load_openml, _openml_info,
            frozenset({"version", "test_size", "data_home", "parser", "image_shape"}),
            "an OpenML name"),
    _Source("zarr:DIR", _load_zarr, _zarr_info, argument="a store folder"),
)}
#: The names :func:`load_dataset` knows (``DIR`` and ``NAME`` are placeholders).
SOURCE_NAMES: tuple[str, ...] = tuple(source.name for source in _SOURCES.values())


def load_dataset(name: str = "mnist", **options: Any) -> Dataset:
    """Load a named data set.

    Parameters
    ----------
    name : str, default "mnist"
        ``mnist``, ``fashion-mnist``, ``digits``, ``idx:DIR``, ``openml:NAME`` or ``zarr:DIR``
        (a store made by ``mnist-logreg datasets build``, read whole into memory, every chunk
        checked against the manifest; for Dask arrays that read it lazily, see
        :func:`~mnist_logreg.datasets.open_zarr_dataset`).
    **options
        Source options: ``fashion-mnist``: ``path``; ``digits``: ``test_size`` (0.25),
        ``random_state`` (0); ``idx:DIR``: ``class_names`` (default: the distinct training
        labels in increasing order, named by their values);
        ``openml:NAME``: ``version`` (1), ``test_size`` (10000 last rows), ``data_home``,
        ``parser`` (``"pandas"`` if installed, else ``"liac-arff"``), ``image_shape``
        (default square when the feature count is a square).

    Returns
    -------
    dataset : Dataset
        Raw pixels ``X_train`` of shape (n_train, n_pixels), ``X_test`` of shape
        (n_test, n_pixels), int64 labels, image shape, pixel maximum, class names, source and
        checksums.

    Raises
    ------
    InputError
        Unknown name or option, missing folder or file (the message says how to get it);
        unusable data (no training or test images, zero-pixel images, non-finite pixels, a single
        training class, test classes absent from training, more than 1,000 classes), the message
        naming the dataset.
    DataFormatError
        A malformed file, a checksum mismatch, image and label counts that differ, labels out of
        range; the message names the file.
    MnistLogregError
        ``openml:NAME`` could not be downloaded (offline and not cached).
    """
    if not isinstance(name, str):
        raise InputError(f"dataset name must be a string. Got {name!r} instead.")
    key, sep, argument = name.partition(":")
    source = _SOURCES.get(key if sep else name)
    if source is None or bool(sep) != bool(source.argument):
        raise InputError(f"unknown dataset {name!r}; known: {', '.join(SOURCE_NAMES)}")
    unknown = sorted(set(options) - source.options)
    if unknown:
        allowed = ", ".join(sorted(source.options)) or "none"
        raise InputError(f"dataset {key!r} has no option {unknown[0]!r} (its options: {allowed})")
    if not sep:
        return source.load(**options)
    if not argument:
        raise InputError(f"dataset {source.name!r} needs {source.argument} after '{key}:'")
    return source.load(argument, name=name, **options)


def list_sources() -> list[SourceInfo]:
    """Describe every known source, cheaply (label files and image headers only).

    A source that cannot be described (a broken folder, a failing library) is listed as
    unavailable with the reason; this function does not raise.

    Returns
    -------
    sources : list of SourceInfo
        ``mnist``, ``fashion-mnist``, ``digits``, ``idx:DIR``, ``openml:NAME``, ``zarr:DIR`` in
        that order.
    """
    sources = []
    for source in _SOURCES.values():
        try:
            sources.append(source.describe())
        except Exception as exc:  # the listing must survive any one source
            logger.debug("describing %s failed", source.name, exc_info=True)
            sources.append(SourceInfo(source.name, source.name, "?", "?", False,
                                      f"no: {_reason(exc)}"))
    return sources
