"""Where the chunks run: in this process, in threads, in spawned processes, or on a
dask.distributed cluster.

``[compute] scheduler``:

``"auto"`` (default)
    ``"processes"`` (one per CPU) for an HDF5 stack whose block functions should take at
    least :data:`AUTO_PROCESSES_MIN_WORK_S` of CPU (rows x the pipelines'
    ``block_cost_us``: e.g. 2 x 10^5 XANES or 5 x 10^4 EXAFS scans) on a machine with two
    or more CPUs, when spawned workers cannot re-run the caller's code (the ``naheo-spec``
    command, ``python -m``, an interactive session or notebook: :func:`spawn_is_safe`);
    ``"local"`` for everything else (file batches, small stacks, one CPU, a script calling
    :func:`~naheo_spec.batch.runner.run` -- spawn re-imports a script, which without an
    ``if __name__ == "__main__":`` guard would run again in every worker). Measured on a
    2-vCPU VM: a ``[10^6, 500]`` float32 XANES stack took 24-33 s in two processes against
    35-50 s in one (``benchmarks/README.md``); per-file pipelines lost to one process when
    measured. The workers start before the input is hashed, so their start-up overlaps it.
``"local"``
    One process, the vectorized kernels, and for a stack the next block read in a thread
    while the current one is computed. The fastest when the machine's other cores are busy
    (measured with other jobs running: one process 50 s, two threads 61-64 s at 10^6).
``"processes"``
    A pool of worker processes started with **spawn** (never fork: larch and numpy start
    threads at import, and forking after that hung once on this project's machines).
``"threads"``
    A thread pool (kept for measurement: the kernels release the GIL only inside numpy, so
    two threads scale worse than two processes: 27 s against 24 s at 10^6, idle machine).
``"tcp://host:port"``
    A dask.distributed scheduler (``pip install naheo-spec[dask]``): one task per chunk,
    each mapping the same vectorized block function over its rows (never one task per
    spectrum). Inputs and the store's work folder must be on a file system the workers
    share; see ``docs/cluster.md``.
"""
from __future__ import annotations

import os
import sys
from concurrent.futures import Executor

from naheo_spec.errors import InputError

__all__ = ["make_executor", "default_workers", "resolve_scheduler", "start_executor",
           "workers_started",
           "spawn_is_safe", "exit_with_parent", "AUTO_PROCESSES_MIN_WORK_S"]

#: ``scheduler = "auto"`` runs an HDF5 stack in worker processes when its block functions
#: should take at least this many CPU seconds in one process. Two spawned workers cost ~2 s
#: of start-up each and save about half the work on 2 CPUs: measured on a 2-vCPU VM, a
#: [10^5, 500] XANES stack (~3 s of work) took 5.6 s in one process and 6.3-6.8 s in two,
#: the same rows through EXAFS (~12 s) 21 s in one and 10.7 s in two.
AUTO_PROCESSES_MIN_WORK_S = 6.0


def default_workers() -> int:
    """CPUs this process may use (``os.sched_getaffinity``), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def spawn_is_safe() -> bool:
    """Whether a spawned worker process can start without running the caller's code again:
    ``__main__`` has no file (interactive session, notebook kernel) or is this package run
    with ``python -m``. A script's ``__main__`` is re-imported by every spawned worker
    (:mod:`multiprocessing`, "safe importing of main module")."""
    main = sys.modules.get("__main__")
    if main is None or getattr(main, "__file__", None) is None:
        return True
    spec = getattr(main, "__spec__", None)
    return spec is not None and spec.name.split(".")[0] == "naheo_spec"


def resolve_scheduler(scheduler: str, workers: int | None, work_s: float | None = None, *,
                      spawn_safe: bool = False) -> str:
    """The scheduler ``"auto"`` stands for (any other name is returned as it is).

    Parameters
    ----------
    scheduler : str
        ``[compute] scheduler``.
    workers : int or None
        ``[compute] workers`` (default: the CPUs this process may use).
    work_s : float, optional
        Estimated CPU seconds of a stack's block functions (rows x each pipeline's
        :attr:`~naheo_spec.batch.registry.PipelineSpec.block_cost_us`); None for a file
        batch or an unreadable stack.
    spawn_safe : bool
        Worker processes may be spawned (:func:`spawn_is_safe`, or the ``naheo-spec``
        command). Default False: ``"auto"`` stays ``"local"``.
    """
    if scheduler != "auto":
        return scheduler
    if work_s is None or not spawn_safe or (workers or default_workers()) < 2:
        return "local"
    return "processes" if work_s >= AUTO_PROCESSES_MIN_WORK_S else "local"


def start_executor(scheduler: str, workers: int | None, warm=()
                   ) -> tuple[tuple[Executor | None, int, str], list]:
    """:func:`make_executor`, then each worker process runs the ``warm`` callables once
    (imports, tables) so that its start-up overlaps whatever the caller does next (e.g.
    hashing the input). Returns the executor triple and the warm-up futures (empty unless
    ``"processes"``); :func:`workers_started` checks them."""
    ex, n, desc = make_executor(scheduler, workers)
    futures = []
    if scheduler == "processes":
        from naheo_spec.batch.tasks import warm_worker

        futures = [ex.submit(warm_worker, tuple(warm)) for _ in range(n)]
    return (ex, n, desc), futures


def workers_started(futures, timeout_s: float = 120.0) -> str | None:
    """None when the warm-up tasks of :func:`start_executor` ran (or are still running
    after ``timeout_s``), else why the worker processes could not start (e.g. spawn could
    not import the caller's main module, or the system refused the processes)."""
    from concurrent.futures import wait

    done, _ = wait(futures, timeout=timeout_s)
    for f in done:
        exc = f.exception()
        if exc is not None:
            return f"{type(exc).__name__}: {exc}"
    return None


def make_executor(scheduler: str, workers: int | None) -> tuple[Executor | None, int, str]:
    """(executor or None for ``local``, number of workers, description).

    Raises
    ------
    InputError
        dask.distributed missing, or the scheduler address cannot be reached.
    """
    if scheduler in ("local", "auto"):          # auto unresolved: see resolve_scheduler
        return None, 1, "local (one process, vectorized)"
    n = workers or default_workers()
    if scheduler == "threads":
        from concurrent.futures import ThreadPoolExecutor

        return ThreadPoolExecutor(max_workers=n), n, f"{n} threads"
    if scheduler == "processes":
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        ctx = multiprocessing.get_context("spawn")
        return (ProcessPoolExecutor(max_workers=n, mp_context=ctx, initializer=exit_with_parent,
                                    initargs=(os.getpid(),)), n, f"{n} processes (spawn)")
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


def exit_with_parent(parent_pid: int, period_s: float = 0.5) -> None:
    """Worker initializer: end this process when the batch process that started it is gone.

    A worker blocked on the task queue does not notice its parent's death (SIGKILL, out of
    memory) and would live on, idle, holding its memory; a re-run would then share the
    CPUs with it. A daemon thread checks ``os.getppid()`` every ``period_s`` seconds.
    """
    import threading
    import time

    def watch():
        while os.getppid() == parent_pid:
            time.sleep(period_s)
        os._exit(1)

    threading.Thread(target=watch, name="naheo-exit-with-parent", daemon=True).start()


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
