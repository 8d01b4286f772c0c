"""Where the independent fits run: in this process, in local worker processes, or on Dask.

A *task runner* offers four operations, the same on every backend:

``share(array)``
    make a large read-only array available to every task once (a memory-mapped ``.npy`` file for
    local processes, ``Client.scatter`` for Dask, the array itself in-process);
``submit(fn, *args)``
    start a task and return a future;
``cancel(futures)``
    give up on unfinished tasks after an error or an interruption;
``wait_first(futures)``
    block until at least one future is done and return ``(done, not_done)``, so that dependent
    work (a refit after its search) starts as soon as it can and finished outer folds can be
    saved one by one;
``close()``
    release workers and temporary files.

Tasks call :func:`resolve_shared` on their shared arguments. Every task computes the same numbers
whatever the backend: results depend only on the seed, never on scheduling.
"""

from __future__ import annotations

import concurrent.futures
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from mnist_logreg.errors import InputError, MnistLogregError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class MemmapHandle:
    """A read-only array stored as a ``.npy`` file that worker processes memory-map."""

    path: str

    def load(self) -> np.ndarray:
        """Memory-map the array (no copy; pages are shared between processes)."""
        return np.load(self.path, mmap_mode="r", allow_pickle=False)


def resolve_shared(obj: Any) -> Any:
    """Return the array behind a handle made by ``share`` (or ``obj`` itself)."""
    if isinstance(obj, MemmapHandle):
        return obj.load()
    return obj


class TaskRunner(Protocol):
    """What the nested cross-validation needs from an execution backend."""

    n_workers: int
    description: str

    def share(self, array: np.ndarray) -> Any: ...

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any: ...

    def wait_first(self, futures: Iterable[Any]) -> tuple[set[Any], set[Any]]: ...

    def cancel(self, futures: Iterable[Any]) -> None: ...

    def close(self) -> None: ...


class SerialRunner:
    """Run every task immediately in this process (``n_jobs=1``); easiest to debug and test."""

    n_workers = 1
    description = "in-process (1 worker)"

    def share(self, array: np.ndarray) -> np.ndarray:
        return array

    def submit(
        self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any
    ) -> concurrent.futures.Future:
        future: concurrent.futures.Future = concurrent.futures.Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # re-raised by future.result()
            future.set_exception(exc)
        return future

    def wait_first(self, futures: Iterable[Any]) -> tuple[set[Any], set[Any]]:
        return set(futures), set()

    def cancel(self, futures: Iterable[Any]) -> None:
        return None

    def close(self) -> None:
        return None


class ProcessRunner:
    """Run tasks in ``n_workers`` local processes (joblib's loky executor)."""

    def __init__(self, n_workers: int) -> None:
        from joblib.externals.loky import get_reusable_executor

        self.n_workers = n_workers
        self.description = f"local processes ({n_workers} workers)"
        self._executor = get_reusable_executor(max_workers=n_workers, timeout=60)
        self._tmpdir = Path(tempfile.mkdtemp(prefix="mnist-logreg-shared-"))
        self._n_shared = 0

    def share(self, array: np.ndarray) -> MemmapHandle:
        path = self._tmpdir / f"shared-{self._n_shared}.npy"
        self._n_shared += 1
        np.save(path, np.ascontiguousarray(array), allow_pickle=False)
        return MemmapHandle(str(path))

    def submit(
        self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any
    ) -> concurrent.futures.Future:
        return self._executor.submit(fn, *args, **kwargs)

    def wait_first(self, futures: Iterable[Any]) -> tuple[set[Any], set[Any]]:
        done, not_done = concurrent.futures.wait(
            list(futures), return_when=concurrent.futures.FIRST_COMPLETED
        )
        return set(done), set(not_done)

    def cancel(self, futures: Iterable[Any]) -> None:
        # Nothing to do: close() stops the workers, and cancelling loky futures that its
        # manager thread still tracks makes that thread fail on shutdown.
        return None

    def close(self) -> None:
        # Stop the workers too: after an interruption they must not go on computing.
        self._executor.shutdown(wait=False, kill_workers=True)
        shutil.rmtree(self._tmpdir, ignore_errors=True)


class DaskRunner:
    """Run tasks on a Dask distributed cluster (an existing scheduler or a LocalCluster)."""

    def __init__(self, scheduler: str) -> None:
        try:
            from distributed import Client, LocalCluster
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise MnistLogregError(
                f"--scheduler {scheduler} needs dask.distributed: pip install 'mnist-logreg[dask]'"
            ) from exc
        self._cluster = None
        if scheduler.startswith("local:"):
            n_workers = _parse_local_workers(scheduler)
            self._cluster = LocalCluster(
                n_workers=n_workers,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
            )
            self._client = Client(self._cluster)
        else:
            try:
                self._client = Client(scheduler, timeout="10s")
            except (OSError, TimeoutError) as exc:
                raise InputError(
                    f"--scheduler: could not connect to the Dask scheduler at {scheduler} ({exc})"
                ) from exc
        workers = self._client.scheduler_info().get("workers", {})
        self.n_workers = max(1, sum(int(w.get("nthreads", 1)) for w in workers.values()))
        self.description = f"Dask at {self._client.scheduler.address} ({self.n_workers} threads)"

    def share(self, array: np.ndarray) -> Any:
        return self._client.scatter(np.ascontiguousarray(array), broadcast=True)

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        return self._client.submit(fn, *args, pure=False, **kwargs)

    def wait_first(self, futures: Iterable[Any]) -> tuple[set[Any], set[Any]]:
        from distributed import wait

        done, not_done = wait(list(futures), return_when="FIRST_COMPLETED")
        return set(done), set(not_done)

    def cancel(self, futures: Iterable[Any]) -> None:
        futures = list(futures)
        if futures:
            self._client.cancel(futures)

    def close(self) -> None:
        self._client.close()
        if self._cluster is not None:
            self._cluster.close()


def _parse_local_workers(scheduler: str) -> int:
    text = scheduler.split(":", 1)[1]
    if not text.isdigit() or int(text) < 1:
        raise InputError(
            "--scheduler local:N needs a whole number of workers N >= 1. "
            f"Got {scheduler!r} instead."
        )
    return int(text)


def validate_scheduler(scheduler: str | None) -> None:
    """Raise :class:`InputError` for a scheduler address that can never work."""
    if scheduler is None:
        return
    if scheduler.startswith("local:"):
        _parse_local_workers(scheduler)
    elif not scheduler.startswith(("tcp://", "tls://", "inproc://", "ws://", "wss://")):
        raise InputError(
            "--scheduler must be tcp://HOST:PORT (an existing Dask scheduler) or local:N "
            f"(start a LocalCluster of N workers). Got {scheduler!r} instead."
        )


def make_runner(n_jobs: int | None = None, scheduler: str | None = None) -> TaskRunner:
    """Choose the backend: Dask when ``scheduler`` is given, else ``n_jobs`` local workers.

    Parameters
    ----------
    n_jobs : int or None
        Local worker processes; ``None`` or ``-1`` means one per CPU core, ``1`` runs in-process.
    scheduler : str or None
        ``tcp://HOST:PORT`` for an existing Dask scheduler, ``local:N`` for a new LocalCluster.
    """
    validate_scheduler(scheduler)
    if scheduler is not None:
        return DaskRunner(scheduler)
    if n_jobs is None or n_jobs == -1:
        n_jobs = os.cpu_count() or 1
    if n_jobs < 1:
        raise InputError(f"--n-jobs must be >= 1 or -1 (all cores). Got {n_jobs} instead.")
    if n_jobs == 1:
        return SerialRunner()
    return ProcessRunner(n_jobs)
