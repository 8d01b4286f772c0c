"""Tests of chunked digit stores: build, resume, lazy and in-memory reads, checksums, refusals."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mnist_logreg.datasets import (
    DeformedDigits,
    build_deformed_store,
    load_dataset,
    open_zarr_dataset,
    read_manifest,
    verify_store,
)
from mnist_logreg.datasets._store_manifest import MANIFEST_FILE
from mnist_logreg.errors import DataFormatError, InputError

N, CHUNK = 250, 100  # three chunks, the last one short


@pytest.fixture(scope="module")
def generator() -> DeformedDigits:
    """The generator over the bundled MNIST training digits (loaded once)."""
    return DeformedDigits.from_mnist()


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, generator: DeformedDigits) -> Path:
    """A finished store of 250 images in chunks of 100, seed 4 (read-only for the tests)."""
    out = tmp_path_factory.mktemp("stores") / "store"
    build_deformed_store(out, N, seed=4, chunk_size=CHUNK, generator=generator)
    return out


def _copy(store: Path, tmp_path: Path) -> Path:
    import shutil

    target = tmp_path / "copy"
    shutil.copytree(store, target)
    return target


class _FailingGenerator(DeformedDigits):
    """A generator that raises on the call that starts image ``fail_at`` (a killed build)."""

    def __init__(self, base: DeformedDigits, fail_at: int) -> None:
        super().__init__(base.images, base.labels, base.params)
        self.fail_at = fail_at

    def generate(self, seed: int, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        if start == self.fail_at:
            raise KeyboardInterrupt
        return super().generate(seed, start, stop)


def test_store_chunks_equal_images_regenerated_alone(
    store: Path, generator: DeformedDigits
) -> None:
    """Test that every chunk read from the store equals its images regenerated on their own."""
    import zarr

    manifest = read_manifest(store)
    assert manifest.complete and manifest.n_chunks == 3 and manifest.seed == 4
    assert [manifest.bounds(k) for k in range(3)] == [(0, 100), (100, 200), (200, 250)]
    images = zarr.open_array(store / "images", mode="r")
    labels = zarr.open_array(store / "labels", mode="r")
    assert images.shape == (N, 28, 28) and images.chunks == (CHUNK, 28, 28)
    for k in range(3):
        start, stop = manifest.bounds(k)
        expected, expected_labels = generator.generate(4, start, stop)
        assert np.array_equal(images[start:stop], expected)
        assert np.array_equal(labels[start:stop], expected_labels)
    assert sum(manifest.class_counts()) == N


def test_lazy_source_reads_dask_chunks(store: Path, generator: DeformedDigits) -> None:
    """Test that open_zarr_dataset gives Dask arrays chunked like the store, MNIST's test set."""
    import dask.array as da

    lazy = open_zarr_dataset(store)
    assert isinstance(lazy.X_train, da.Array) and isinstance(lazy.y_train, da.Array)
    assert lazy.X_train.chunks == ((100, 100, 50), (784,))
    assert lazy.X_train.dtype == np.uint8 and lazy.y_train.dtype == np.int64
    block = lazy.X_train.blocks[2].compute()
    assert np.array_equal(block, generator.generate(4, 200, 250)[0].reshape(50, 784))
    mnist = load_dataset("mnist")
    assert np.array_equal(lazy.X_test, mnist.X_test) and np.array_equal(lazy.y_test, mnist.y_test)
    assert (
        lazy.class_counts("train").tolist()
        == np.bincount(lazy.y_train.compute(), minlength=10).tolist()
    )


def test_load_dataset_reads_the_store_whole(store: Path, generator: DeformedDigits) -> None:
    """Test that load_dataset('zarr:DIR') is an in-memory Dataset of the store plus MNIST's test."""
    data = load_dataset(f"zarr:{store}")
    assert isinstance(data.X_train, np.ndarray)
    assert data.X_train.shape == (N, 784) and data.X_test.shape == (10_000, 784)
    assert np.array_equal(data.X_train, generator.generate(4, 0, N)[0].reshape(N, 784))
    assert data.name == f"zarr:{store}" and data.class_names == tuple("0123456789")
    assert set(data.checksums) >= {MANIFEST_FILE}


def test_verify_reports_every_chunk(store: Path) -> None:
    """Test that verify_store checks 3 chunks and 250 images and reports the pixel range."""
    check = verify_store(store)
    assert (check.n_chunks, check.n_images) == (3, N)
    assert check.pixel_range[0] == 0 and check.pixel_range[1] >= 250


def test_resume_after_interruption_equals_one_shot_build(
    store: Path, tmp_path: Path, generator: DeformedDigits
) -> None:
    """Test that a build killed in chunk 1 (its file half written), resumed, equals one shot."""
    out = tmp_path / "resumed"
    with pytest.raises(KeyboardInterrupt):
        build_deformed_store(
            out, N, seed=4, chunk_size=CHUNK, generator=_FailingGenerator(generator, 100)
        )
    partial = read_manifest(out)
    assert sorted(partial.chunks) == [0] and not partial.complete
    with pytest.raises(InputError, match="unfinished"):
        open_zarr_dataset(out)
    # a crash while chunk 1 was being written: garbage where its file goes
    chunk_file = out / "images" / "c" / "1" / "0" / "0"
    chunk_file.parent.mkdir(parents=True, exist_ok=True)
    chunk_file.write_bytes(b"half a chunk")
    seen: list[int] = []
    build_deformed_store(out, resume=True, generator=generator, progress=seen.append)
    assert seen[0] == 100 and seen[-1] == N  # the finished chunk is skipped
    assert read_manifest(out).as_dict()["chunks"] == read_manifest(store).as_dict()["chunks"]
    verify_store(out)


def test_parallel_build_and_resume_equal_the_serial_store(
    store: Path, tmp_path: Path, generator: DeformedDigits
) -> None:
    """Test that chunks generated in 2 processes, then resumed in 2, give the serial checksums."""
    out = tmp_path / "parallel"
    with pytest.raises(KeyboardInterrupt):
        build_deformed_store(
            out, N, seed=4, chunk_size=CHUNK, generator=_FailingGenerator(generator, 200)
        )
    assert sorted(read_manifest(out).chunks) == [0, 1]
    manifest = read_manifest(out).as_dict()
    manifest["chunks"] = manifest["chunks"][1:]  # chunk 0 lost: resume regenerates 0 and 2
    (out / MANIFEST_FILE).write_text(json.dumps(manifest))
    seen: list[int] = []
    build_deformed_store(out, resume=True, generator=generator, n_jobs=2, progress=seen.append)
    assert seen[0] == 100 and seen[-1] == N and len(seen) == 3  # per chunk, in any order
    assert read_manifest(out).as_dict()["chunks"] == read_manifest(store).as_dict()["chunks"]
    verify_store(out)


def test_resume_refuses_other_parameters(store: Path, tmp_path: Path) -> None:
    """Test that resuming with another seed, size or chunk size is refused, naming it."""
    copy = _copy(store, tmp_path)
    for kwargs, name in (({"seed": 5}, "seed"), ({"n": 300}, "n"), ({"chunk_size": 50}, "chunk")):
        with pytest.raises(InputError, match=f"started with {name}"):
            build_deformed_store(copy, resume=True, **kwargs)  # type: ignore[arg-type]


def test_new_build_refuses_a_non_empty_folder(tmp_path: Path) -> None:
    """Test that a build into a folder holding anything refuses and leaves it untouched."""
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me")
    with pytest.raises(InputError, match="not empty"):
        build_deformed_store(folder, 10)
    assert [p.name for p in folder.iterdir()] == ["notes.txt"]
    with pytest.raises(InputError, match=r"manifest\.json: not found"):
        build_deformed_store(folder, resume=True)
    assert (folder / "notes.txt").read_text() == "keep me"


def test_resume_refuses_a_store_holding_foreign_files(store: Path, tmp_path: Path) -> None:
    """Test that --resume refuses a store folder that holds a file a build does not write."""
    copy = _copy(store, tmp_path)
    (copy / "results.csv").write_text("x")
    with pytest.raises(InputError, match=r"results\.csv"):
        build_deformed_store(copy, resume=True)


@pytest.mark.parametrize("array", ["images", "labels"])
def test_replaced_chunk_is_named(store: Path, tmp_path: Path, array: str) -> None:
    """Test that a chunk rewritten with other (valid) data fails its checksum, named in one line."""
    import zarr

    copy = _copy(store, tmp_path)
    target = zarr.open_array(copy / array, mode="r+")
    target[100:101] = (target[100:101] + 1) % 10  # chunk 1, valid bytes, other content
    with pytest.raises(DataFormatError) as info:
        verify_store(copy)
    message = str(info.value)
    assert "\n" not in message
    assert f"{array}/c/1" in message and "chunk 1" in message and "rows 100..199" in message
    assert "SHA-256" in message
    lazy = open_zarr_dataset(copy)
    lazy.X_train.blocks[0].compute()  # other chunks still read
    with pytest.raises(DataFormatError, match="chunk 1"):
        (lazy.X_train if array == "images" else lazy.y_train).compute()
    with pytest.raises(DataFormatError, match="chunk 1"):
        load_dataset(f"zarr:{copy}")


def test_truncated_and_missing_chunks_are_named(store: Path, tmp_path: Path) -> None:
    """Test that a truncated chunk file and a deleted one are each named in one line."""
    copy = _copy(store, tmp_path)
    chunk = copy / "images" / "c" / "2" / "0" / "0"
    chunk.write_bytes(chunk.read_bytes()[:-30])
    with pytest.raises(DataFormatError, match=r"c/2/0/0: chunk 2 .* cannot be decoded"):
        verify_store(copy)
    chunk.unlink()
    with pytest.raises(DataFormatError, match=r"c/2/0/0: chunk 2 .* is missing"):
        verify_store(copy)


def test_malformed_manifests_are_named(store: Path, tmp_path: Path) -> None:
    """Test that broken manifests raise DataFormatError naming manifest.json and the fault."""
    copy = _copy(store, tmp_path)
    path = copy / MANIFEST_FILE
    good = json.loads(path.read_text())
    cases = {
        "not valid JSON": "{",
        "not a manifest": json.dumps({**good, "format": "other"}),
        "'n' must be": json.dumps({**good, "n": -3}),
        "must hold rows 100..199": json.dumps(
            {**good, "chunks": [good["chunks"][0], {**good["chunks"][1], "start": 90}]}
        ),
        "listed twice": json.dumps({**good, "chunks": [good["chunks"][0], good["chunks"][0]]}),
        "64 lowercase hex": json.dumps(
            {**good, "chunks": [{**good["chunks"][0], "images_sha256": "00"}]}
        ),
    }
    for expected, text in cases.items():
        path.write_text(text)
        with pytest.raises(DataFormatError, match=expected) as info:
            read_manifest(copy)
        assert str(info.value).startswith(str(path))


@settings(max_examples=150, deadline=None)
@given(
    key=st.sampled_from(["seed", "n", "chunk_size", "image_shape", "class_names", "chunks"]),
    value=st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**70), 2**70),
        st.floats(allow_nan=True),
        st.text(max_size=5),
        st.lists(st.integers(-3, 300), max_size=4),
        st.lists(st.dictionaries(st.text(max_size=4), st.integers(), max_size=3), max_size=2),
    ),
)
def test_fuzzed_manifest_fields_give_one_line_errors(
    tmp_path_factory: pytest.TempPathFactory, key: str, value: object
) -> None:
    """Test that any value in any manifest field parses or raises a one-line InputError."""
    folder = tmp_path_factory.mktemp("fuzz")
    base = {
        "format": "mnist-logreg digit store",
        "format_version": 1,
        "generator": {"name": "deformed-mnist"},
        "seed": 0,
        "n": 10,
        "chunk_size": 5,
        "image_shape": [28, 28],
        "class_names": list("0123456789"),
        "chunks": [],
    }
    (folder / MANIFEST_FILE).write_text(json.dumps({**base, key: value}))
    try:
        read_manifest(folder)
    except InputError as exc:
        assert "\n" not in str(exc)


def test_lazy_source_reads_on_dask_worker_processes(store: Path, tmp_path: Path) -> None:
    """Test that a worker process reads and checks chunks: same sums, corrupted chunk named."""
    import zarr
    from dask.distributed import Client, LocalCluster

    copy = _copy(store, tmp_path)
    expected = load_dataset(f"zarr:{store}")
    with (
        LocalCluster(
            n_workers=1,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=":0",  # a free port: None still tries :8787
        ) as cluster,
        Client(cluster) as client,
    ):
        lazy = open_zarr_dataset(copy)
        sums = client.compute(lazy.X_train.sum(axis=0, dtype="int64")).result()
        assert np.array_equal(sums, expected.X_train.sum(axis=0, dtype=np.int64))
        counts = client.compute(lazy.y_train).result()
        assert np.array_equal(counts, expected.y_train)
        target = zarr.open_array(copy / "images", mode="r+")
        target[0:1] = 255 - target[0:1]
        with pytest.raises(DataFormatError, match=r"c/0/0/0: chunk 0 of 'images' \(rows 0..99\)"):
            client.compute(open_zarr_dataset(copy).X_train.sum()).result()
