"""Long fuzz of the IDX reader and of IDX-folder loading (issue 13).

Every input is parsed in this process, under a per-input time limit, and classified:

``ok``
    an array (or a dataset) came back;
``our error``
    :class:`~mnist_logreg.errors.MnistLogregError` (``InputError``, ``DataFormatError``) with a
    one-line message;
``traceback``
    any other exception (``MemoryError``, ``ValueError``, ...) or our error spread over several
    lines;
``hang``
    the input took longer than ``--time-limit`` seconds.

Inputs, drawn at random (``--seed``):

- ``mutate``: a valid small IDX file (every type code, 1 to 4 dimensions) with bytes flipped,
  set to extremes, inserted, deleted, truncated, appended or spliced, plain or gzipped;
- ``gzip``: the gzip of a valid file with its compressed bytes mutated, truncated, concatenated
  or followed by garbage;
- ``header``: a generated header (wrong magic, any type code, 0 to 255 dimensions, sizes 0 to
  2**32 - 1) and a random payload length;
- ``bomb``: gzip bombs built once at start: 1 GiB, 256 MiB, 65 MiB and 64 MiB (the largest
  accepted at any ratio) of zeros under an honest header, a 100-byte header over 256 MiB of
  zeros, a header promising 1 GiB over 1 MiB;
- ``values``: well-formed files of extreme values: int32 labels 2**31 - 1 and -2**31, float
  pixels inf / nan, zero-size images, thousands of distinct labels;
- ``folder``: any of the above written into a valid four-file IDX folder in place of one file,
  then loaded with ``load_dataset("idx:DIR")`` and described as the ``datasets`` listing does.

Prints a summary (inputs, outcomes per kind, peak RSS, slowest input) and exits 1 if there is any
traceback or hang.

Usage::

    python benchmarks/fuzz_idx.py --n 100000 --seed 0
    python benchmarks/fuzz_idx.py --n 2000 --save /tmp/fuzz-failures   # keep failing inputs
"""

from __future__ import annotations

import argparse
import gzip
import os
import resource
import shutil
import signal
import struct
import sys
import tempfile
import time
import traceback
import zlib
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from mnist_logreg.datasets import FASHION_MNIST_CLASSES, IDX_FILE_NAMES, load_dataset, read_idx
from mnist_logreg.datasets._idx_folder import idx_folder_info
from mnist_logreg.errors import MnistLogregError

TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
EXTREME_DIMS = [0, 1, 2, 3, 28, 255, 256, 65535, 65536, 2**24, 2**31 - 1, 2**31, 2**32 - 1]
EXTREME_BYTES = [0x00, 0x01, 0x7F, 0x80, 0xFE, 0xFF]
KINDS = ("mutate", "gzip", "header", "bomb", "values", "folder")
WEIGHTS = (0.30, 0.12, 0.15, 0.005, 0.125, 0.30)
OUTCOMES = ("ok", "our error", "traceback", "hang")


class Hang(BaseException):
    """Raised by the alarm when an input runs past the time limit (not an Exception)."""


def _on_alarm(signum: int, frame: Any) -> None:
    raise Hang


def header(code: int, dims: tuple[int, ...], magic: bytes = b"\x00\x00") -> bytes:
    """IDX header bytes (magic, type code, ndim, big-endian 32-bit dimensions)."""
    return magic + bytes([code, len(dims) % 256]) + struct.pack(f">{len(dims)}I", *dims)


def valid_file(rng: np.random.Generator) -> bytes:
    """A small valid IDX file of a random type and shape."""
    code = int(rng.choice(list(TYPES)))
    dims = tuple(int(d) for d in rng.integers(1, 5, size=int(rng.integers(1, 5))))
    count = int(np.prod(dims))
    if TYPES[code][1] == "f":
        values = rng.normal(0, 100, size=count).astype(TYPES[code])
    else:
        info = np.iinfo(np.dtype(TYPES[code]))
        values = rng.integers(info.min, int(info.max) + 1, size=count).astype(TYPES[code])
    return header(code, dims) + values.tobytes()


def mutate_bytes(rng: np.random.Generator, data: bytes, n_edits: int) -> bytes:
    """Apply ``n_edits`` random edits (flip, extreme byte, insert, delete, cut, append, splice)."""
    out = bytearray(data)
    for _ in range(n_edits):
        edit = int(rng.integers(7))
        position = int(rng.integers(len(out) + 1))
        if edit == 0 and out:
            out[position % len(out)] ^= 1 << int(rng.integers(8))
        elif edit == 1 and out:
            out[position % len(out)] = int(rng.choice(EXTREME_BYTES))
        elif edit == 2:
            out[position:position] = rng.bytes(int(rng.integers(1, 9)))
        elif edit == 3 and out:
            del out[position : position + int(rng.integers(1, 9))]
        elif edit == 4:
            del out[position:]
        elif edit == 5:
            out += rng.bytes(int(rng.integers(1, 64)))
        elif edit == 6:
            other = valid_file(rng)
            cut = int(rng.integers(len(other) + 1))
            out[position:] = other[cut:]
    return bytes(out)


def gen_mutate(rng: np.random.Generator) -> bytes:
    data = mutate_bytes(rng, valid_file(rng), int(rng.integers(1, 5)))
    return gzip.compress(data, mtime=0) if rng.random() < 0.4 else data


def gen_gzip(rng: np.random.Generator) -> bytes:
    data = gzip.compress(valid_file(rng), compresslevel=int(rng.integers(0, 10)), mtime=0)
    choice = int(rng.integers(4))
    if choice == 0:
        return mutate_bytes(rng, data, int(rng.integers(1, 4)))
    if choice == 1:
        return data[: int(rng.integers(len(data)))]
    if choice == 2:
        return data + gzip.compress(valid_file(rng), mtime=0)  # two members
    return data + (bytes(int(rng.integers(1, 16))) if rng.random() < 0.5 else rng.bytes(8))


def gen_header(rng: np.random.Generator) -> bytes:
    magic = b"\x00\x00" if rng.random() < 0.85 else rng.bytes(2)
    code = int(rng.choice(list(TYPES))) if rng.random() < 0.8 else int(rng.integers(256))
    ndim = (
        int(rng.choice([0, 1, 2, 3, 4, 32, 33, 255]))
        if rng.random() < 0.3
        else int(rng.integers(1, 5))
    )
    dims = tuple(
        int(rng.choice(EXTREME_DIMS)) if rng.random() < 0.5 else int(rng.integers(0, 9))
        for _ in range(ndim)
    )
    data = header(code, dims, magic)
    if rng.random() < 0.2:
        data = data[: int(rng.integers(len(data) + 1))]
    declared = int(np.prod(dims, dtype=object)) * np.dtype(TYPES.get(code, ">u1")).itemsize
    if declared <= 4096 and rng.random() < 0.5:  # the payload the header announces, +-1 byte
        data += rng.bytes(max(declared + int(rng.integers(-1, 2)), 0))
    else:
        data += bytes(int(rng.integers(0, 600)))
    return gzip.compress(data, mtime=0) if rng.random() < 0.4 else data


def gen_values(rng: np.random.Generator, n_samples: int | None = None) -> bytes:
    """Well-formed labels or images with extreme values or shapes."""
    n = n_samples if n_samples is not None else int(rng.integers(0, 50))
    choice = int(rng.integers(5))
    if choice == 0:  # label extremes
        code = int(rng.choice([0x08, 0x09, 0x0B, 0x0C]))
        info = np.iinfo(np.dtype(TYPES[code]))
        pool = [info.min, -1, 0, 1, 2, 9, 10, info.max]
        values = rng.choice(pool, size=n).astype(TYPES[code])
        return header(code, (n,)) + values.tobytes()
    if choice == 1:  # distinct labels: n of them, or up to 3,000 (cap: 1,000 classes)
        size = n if n_samples is not None else int(rng.integers(0, 3000))
        values = rng.choice(2**31 - 1, size=size, replace=False).astype(">i4")
        return header(0x0C, (size,)) + values.tobytes()
    if choice == 2:  # float pixels with inf / nan
        code = int(rng.choice([0x0D, 0x0E]))
        values = rng.normal(size=(n, 2, 3)).astype(TYPES[code])
        if values.size:
            values.reshape(-1)[int(rng.integers(values.size))] = rng.choice(
                [np.inf, -np.inf, np.nan, 1e38]
            )
        return header(code, (n, 2, 3)) + values.tobytes()
    if choice == 3:  # zero-size images
        dims = (n, int(rng.integers(0, 3)), int(rng.integers(0, 3)))
        return header(0x08, dims) + bytes(int(np.prod(dims)))
    values = rng.integers(-128, 128, size=(n, 2, 3)).astype(">i1")
    return header(0x09, (n, 2, 3)) + values.tobytes()


class Bombs:
    """Gzip bombs written once to ``folder`` and served at random."""

    def __init__(self, folder: Path) -> None:
        self.paths: list[Path] = []
        for name, head, zeros in (
            ("honest-1g", header(0x08, (1024, 1024, 1024)), 2**30),
            ("honest-256m", header(0x08, (256, 1024, 1024)), 2**28),
            ("honest-65m", header(0x08, (65, 1024, 1024)), 65 * 2**20),
            ("honest-64m", header(0x08, (64, 1024, 1024)), 64 * 2**20),
            ("small-header-256m", header(0x08, (100,)), 2**28),
            ("forged-1g-over-1m", header(0x08, (1024, 1024, 1024)), 2**20),
        ):
            path = folder / f"bomb-{name}.gz"
            stream = zlib.compressobj(9, zlib.DEFLATED, 31)
            block = bytes(2**20)
            with path.open("wb") as out:
                out.write(stream.compress(head))
                for _ in range(zeros // len(block)):
                    out.write(stream.compress(block))
                out.write(stream.flush())
            self.paths.append(path)

    def pick(self, rng: np.random.Generator) -> bytes:
        return self.paths[int(rng.integers(len(self.paths)))].read_bytes()


def template_folder(folder: Path, rng: np.random.Generator) -> list[bytes]:
    """The four files of a valid small IDX folder: 12 training and 6 test images of 2x3."""
    y_train = np.arange(12) % 3
    y_test = np.arange(6) % 3
    return [
        header(0x08, (12, 2, 3)) + rng.integers(0, 256, size=72).astype(np.uint8).tobytes(),
        header(0x08, (12,)) + y_train.astype(np.uint8).tobytes(),
        header(0x08, (6, 2, 3)) + rng.integers(0, 256, size=36).astype(np.uint8).tobytes(),
        header(0x08, (6,)) + y_test.astype(np.uint8).tobytes(),
    ]


class Fuzzer:
    """Generates inputs, parses them in-process, counts outcomes."""

    def __init__(self, work: Path, seed: int, time_limit: float, save: Path | None) -> None:
        self.rng = np.random.default_rng(seed)
        self.work = work
        self.time_limit = time_limit
        self.save = save
        self.file = work / "input"
        self.folder = work / "folder"
        self.folder.mkdir()
        self.template = template_folder(self.folder, self.rng)
        self.bombs = Bombs(work)
        self.outcomes: Counter[str] = Counter()
        self.by_kind: dict[str, Counter[str]] = {kind: Counter() for kind in KINDS}
        self.slowest = (0.0, "")
        self.failures: list[str] = []

    def generate(self, kind: str) -> bytes:
        generators: dict[str, Callable[[np.random.Generator], bytes]] = {
            "mutate": gen_mutate,
            "gzip": gen_gzip,
            "header": gen_header,
            "bomb": self.bombs.pick,
            "values": gen_values,
        }
        return generators[kind](self.rng)

    def _parse_file(self, data: bytes) -> Callable[[], Any]:
        self.file.write_bytes(data)
        return lambda: read_idx(self.file)

    def _parse_folder(self) -> Callable[[], Any]:
        index = int(self.rng.integers(4))
        inner = str(self.rng.choice(["mutate", "header", "values", "values", "gzip"]))
        n_samples = (12, 12, 6, 6)[index] if self.rng.random() < 0.7 else None
        data = gen_values(self.rng, n_samples) if inner == "values" else self.generate(inner)
        for name, content in zip(IDX_FILE_NAMES, self.template, strict=True):
            (self.folder / name).write_bytes(content)
        (self.folder / IDX_FILE_NAMES[index]).write_bytes(data)

        def parse() -> Any:
            try:
                idx_folder_info(self.folder, name="fuzz", class_names=FASHION_MNIST_CLASSES)
            except MnistLogregError:
                pass
            return load_dataset(f"idx:{self.folder}")

        return parse

    def run_one(self, number: int) -> None:
        kind = str(self.rng.choice(KINDS, p=WEIGHTS))
        parse = self._parse_folder() if kind == "folder" else self._parse_file(self.generate(kind))
        start = time.perf_counter()
        signal.setitimer(signal.ITIMER_REAL, self.time_limit)
        detail = ""
        try:
            parse()
            outcome = "ok"
        except Hang:
            outcome, detail = "hang", f"over {self.time_limit} s"
        except MnistLogregError as exc:
            outcome = "our error" if "\n" not in str(exc) else "traceback"
            detail = f"multi-line message: {exc!r}" if outcome == "traceback" else ""
        except Exception as exc:  # counting every other exception is the point
            outcome = "traceback"
            detail = "".join(traceback.format_exception(exc)[-3:])
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        seconds = time.perf_counter() - start
        if seconds > self.slowest[0]:
            self.slowest = (seconds, kind)
        self.outcomes[outcome] += 1
        self.by_kind[kind][outcome] += 1
        if outcome in ("traceback", "hang"):
            self.failures.append(f"input {number} ({kind}): {outcome}: {detail.strip()}")
            if self.save is not None:
                target = self.save / f"input-{number}-{kind}"
                if kind == "folder":
                    shutil.copytree(self.folder, target)
                else:
                    shutil.copyfile(self.file, target)


def peak_rss_bytes() -> int:
    """Peak resident memory of this process (Linux reports kibibytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=10_000, help="number of inputs (10000)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (0)")
    parser.add_argument("--time-limit", type=float, default=10.0, help="seconds per input (10)")
    parser.add_argument("--save", type=Path, default=None, help="folder for failing inputs")
    args = parser.parse_args(argv)
    if args.n < 1 or args.time_limit <= 0:
        parser.error("--n must be >= 1 and --time-limit > 0")
    if args.save is not None:
        args.save.mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGALRM, _on_alarm)
    base = "/dev/shm" if os.path.isdir("/dev/shm") else None
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="fuzz-idx-", dir=base) as work:
        fuzzer = Fuzzer(Path(work), args.seed, args.time_limit, args.save)
        setup = time.perf_counter() - start
        for number in range(args.n):
            fuzzer.run_one(number)
            if (number + 1) % 10_000 == 0:
                print(f"  {number + 1} inputs, {dict(fuzzer.outcomes)}", file=sys.stderr)
    seconds = time.perf_counter() - start
    for failure in fuzzer.failures[:20]:
        print(failure, file=sys.stderr)
    counts = fuzzer.outcomes
    print(
        f"fuzz_idx: {args.n} inputs (seed {args.seed}, time limit {args.time_limit:g} s) in "
        f"{seconds:.1f} s (setup {setup:.1f} s): "
        + ", ".join(f"{name} {counts[name]}" for name in OUTCOMES)
    )
    for kind in KINDS:
        part = fuzzer.by_kind[kind]
        print(
            f"  {kind:7s} {sum(part.values()):7d}: "
            + ", ".join(f"{name} {part[name]}" for name in OUTCOMES)
        )
    print(
        f"peak RSS {peak_rss_bytes() / 2**20:.0f} MiB; slowest input "
        f"{fuzzer.slowest[0]:.2f} s ({fuzzer.slowest[1]})"
    )
    return 1 if counts["traceback"] or counts["hang"] else 0


if __name__ == "__main__":
    sys.exit(main())
