"""Data sets: IDX files, named sources and checksums.

The entry point is :func:`load_dataset`::

    >>> from mnist_logreg.datasets import load_dataset
    >>> data = load_dataset("mnist")            # doctest: +SKIP
    >>> data.X_train.shape, data.X_train.dtype  # doctest: +SKIP
    ((60000, 784), dtype('uint8'))

Names: ``mnist`` (bundled, default), ``fashion-mnist``, ``digits``, ``idx:DIR``, ``openml:NAME``;
:func:`list_sources` describes them and whether each is available here.
"""

from mnist_logreg.datasets._checksums import (
    parse_sha256sums,
    sha256_file,
    verify_checksums,
    verify_sha256,
)
from mnist_logreg.datasets._dataset import MAX_CLASSES, Dataset, check_images_labels
from mnist_logreg.datasets._files import open_regular_file, read_exactly
from mnist_logreg.datasets._idx import (
    GZIP_FREE_BYTES,
    MAX_GZIP_RATIO,
    IdxHeader,
    read_idx,
    read_idx_header,
    write_idx,
)
from mnist_logreg.datasets._sources import (
    DEFAULT_FASHION_MNIST_DIR,
    FASHION_MNIST_CLASSES,
    FASHION_MNIST_ENV,
    IDX_FILE_NAMES,
    SOURCE_NAMES,
    SourceInfo,
    bundled_mnist_dir,
    fashion_mnist_dir,
    list_sources,
    load_dataset,
)

__all__ = [
    "DEFAULT_FASHION_MNIST_DIR",
    "FASHION_MNIST_CLASSES",
    "FASHION_MNIST_ENV",
    "GZIP_FREE_BYTES",
    "IDX_FILE_NAMES",
    "MAX_CLASSES",
    "MAX_GZIP_RATIO",
    "SOURCE_NAMES",
    "Dataset",
    "IdxHeader",
    "SourceInfo",
    "bundled_mnist_dir",
    "check_images_labels",
    "fashion_mnist_dir",
    "list_sources",
    "load_dataset",
    "open_regular_file",
    "parse_sha256sums",
    "read_exactly",
    "read_idx",
    "read_idx_header",
    "sha256_file",
    "verify_checksums",
    "verify_sha256",
    "write_idx",
]
