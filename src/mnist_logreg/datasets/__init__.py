"""Data sets: IDX files, named sources and checksums.

The entry point is :func:`load_dataset`::

    >>> from mnist_logreg.datasets import load_dataset
    >>> data = load_dataset("mnist")            # doctest: +SKIP
    >>> data.X_train.shape, data.X_train.dtype  # doctest: +SKIP
    ((60000, 784), dtype('uint8'))

Names: ``mnist`` (bundled, default), ``fashion-mnist``, ``digits``, ``idx:DIR``, ``openml:NAME``,
``zarr:DIR``; :func:`list_sources` describes them and whether each is available here.

Large data: :class:`DeformedDigits` makes deformed MNIST training digits, image ``i`` from
``(seed, i)`` alone; :func:`build_deformed_store` writes them to a chunked Zarr store with a
checksummed manifest; :func:`open_zarr_dataset` opens a store lazily as Dask arrays and
:func:`verify_store` checks every chunk.
"""

from mnist_logreg.datasets._checksums import (
    parse_sha256sums,
    sha256_file,
    verify_checksums,
    verify_sha256,
)
from mnist_logreg.datasets._dataset import MAX_CLASSES, Dataset, check_images_labels
from mnist_logreg.datasets._deformed import (
    GENERATOR_NAME,
    GENERATOR_VERSION,
    DeformationParams,
    DeformedDigits,
)
from mnist_logreg.datasets._files import open_regular_file, read_exactly
from mnist_logreg.datasets._idx import (
    GZIP_FREE_BYTES,
    MAX_GZIP_RATIO,
    IdxHeader,
    read_idx,
    read_idx_header,
    write_idx,
)
from mnist_logreg.datasets._npy import MAX_NPY_HEADER_BYTES, bad_npy, parse_npy, read_npy_header
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
from mnist_logreg.datasets._store_manifest import ChunkRecord, StoreManifest, read_manifest
from mnist_logreg.datasets._zarr_source import LazyDataset, load_zarr_dataset, open_zarr_dataset
from mnist_logreg.datasets._zarr_store import (
    DEFAULT_CHUNK_SIZE,
    StoreCheck,
    build_deformed_store,
    verify_store,
)

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "DEFAULT_FASHION_MNIST_DIR",
    "FASHION_MNIST_CLASSES",
    "FASHION_MNIST_ENV",
    "GENERATOR_NAME",
    "GENERATOR_VERSION",
    "GZIP_FREE_BYTES",
    "IDX_FILE_NAMES",
    "MAX_CLASSES",
    "MAX_GZIP_RATIO",
    "MAX_NPY_HEADER_BYTES",
    "SOURCE_NAMES",
    "ChunkRecord",
    "Dataset",
    "DeformationParams",
    "DeformedDigits",
    "IdxHeader",
    "LazyDataset",
    "SourceInfo",
    "StoreCheck",
    "StoreManifest",
    "bad_npy",
    "build_deformed_store",
    "bundled_mnist_dir",
    "check_images_labels",
    "fashion_mnist_dir",
    "list_sources",
    "load_dataset",
    "load_zarr_dataset",
    "open_regular_file",
    "open_zarr_dataset",
    "parse_npy",
    "parse_sha256sums",
    "read_exactly",
    "read_idx",
    "read_idx_header",
    "read_manifest",
    "read_npy_header",
    "sha256_file",
    "verify_checksums",
    "verify_sha256",
    "verify_store",
    "write_idx",
]
