"""Where the chunks run: in this process, in threads, in spawned processes, or on a
dask.distributed cluster.

``[compute] scheduler``:

``"local"`` (default)
    One process, the vectorized kernels, and for a stack the next block read in a thread
    while the current one is computed. Measured fastest for stacks on 2 cores (the kernels
    are numpy: one process already keeps a core busy, and a second process pays its
    start-up and larch import -- see ``benchmarks/README.md``).
``"processes"``
    A pool of worker processes started with **spawn** (never fork: larch and numpy start
    threads at import, and forking after that hung once on this project's machines).
    Helps for file batches (per-file pipelines hold the GIL in Python code).
``"threads"``
    A thread pool (kept for measurement: slower than one process for Python-heavy
    per-file pipelines because of the GIL).
``"tcp://host:port"``
    A dask.distributed scheduler (``pip install naheo-spec[dask]``): one task per chunk,
    each mapping the same vectorized block function over its rows (never one task per
    spectrum). Inputs and the store's work folder must be on a file system the workers
    share; see ``docs/cluster.md``.
"""
from __future__ import annotations

import os
from concurrent.futures import Executor

from naheo_spec.errors import InputError

__all__ = ["make_executor", "default_workers"]


def default_workers() -> int:
    """CPUs this process may use (``os.sched_getaffinity``), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def make_executor(scheduler: str, workers: int | None) -> tuple[Executor | None, int, str]:
    """(executor or None for ``local``, number of workers, description).

    Raises
    ------
    InputError
        dask.distributed missing, or the scheduler address cannot be reached.
    """
    if scheduler == "local":
        return None, 1, "local (one process, vectorized)"
    n = workers or default_workers()
    if scheduler == "threads":
        from concurrent.futures import ThreadPoolExecutor

        return ThreadPoolExecutor(max_workers=n), n, f"{n} threads"
    if scheduler == "processes":
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        ctx = multiprocessing.get_context("spawn")
        return ProcessPoolExecutor(max_workers=n, mp_context=ctx), n, f"{n} processes (spawn)"
    if scheduler.startswith("tcp://"):
        try:
            from distributed import Client
        except ImportError:
            raise InputError("[compute] scheduler = 'tcp://...' needs dask.distributed: "
                             "pip install 'naheo-spec[dask]'") from None
        try:
            client = Client(scheduler, timeout="10s", set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise InputError(f"[compute] scheduler = {scheduler!r}: cannot reach the dask "
                             f"scheduler ({exc})") from None
        n_workers = max(1, sum(w.get("nthreads", 1)
                               for w in client.scheduler_info()["workers"].values()))
        ex = client.get_executor(pure=False)
        ex._naheo_client = client          # closed with the executor (see close_executor)
        return ex, n_workers, f"dask.distributed {scheduler} ({n_workers} worker threads)"
    raise InputError(f"[compute] scheduler = {scheduler!r}: unknown")


def close_executor(ex: Executor | None) -> None:
    """Shut an executor down (and close a dask client)."""
    if ex is None:
        return
    ex.shutdown(wait=True, cancel_futures=True) if _takes_cancel(ex) else ex.shutdown(wait=True)
    client = getattr(ex, "_naheo_client", None)
    if client is not None:
        client.close()


def _takes_cancel(ex) -> bool:
    import inspect

    try:
        return "cancel_futures" in inspect.signature(ex.shutdown).parameters
    except (TypeError, ValueError):
        return False
