"""Run a batch config: plan, compute what is missing chunk by chunk, commit, assemble.

:func:`run` is what ``naheo-spec batch`` calls. The main process is the only one that
commits chunks and writes the store; workers compute and write their chunk under a
temporary name (see :mod:`naheo_spec.batch.ledger`).
"""
from __future__ import annotations

import contextlib
import sys
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from naheo_spec.batch.config import BatchConfig, load_config
from naheo_spec.batch.ledger import Ledger
from naheo_spec.batch.plan import Plan, make_plan
from naheo_spec.batch.registry import get_pipeline
from naheo_spec.batch.schedulers import (
    close_executor,
    make_executor,
    resolve_scheduler,
    spawn_is_safe,
    start_executor,
    workers_started,
)
from naheo_spec.batch.tasks import (
    ChunkReport,
    FileTask,
    StackTask,
    error_text,
    read_stack_rows,
    run_file_task,
    run_stack_task,
)
from naheo_spec.errors import InputError

__all__ = ["run", "BatchSummary", "check_outputs", "DEFAULT_BLOCK"]

#: Stack rows per vectorized call inside a chunk (the kernels' time per spectrum grows
#: with the block beyond a few thousand rows: cache; see benchmarks/README.md).
DEFAULT_BLOCK = 4096
#: At most this many failures are listed one by one (all are in the store).
MAX_LISTED_FAILURES = 1000


@dataclass
class BatchSummary:
    """What a run did.

    Attributes
    ----------
    done : int
        Scans computed successfully in this run.
    skipped : int
        Scans already in the work folder (ok or failed), not computed again.
    failed : list of dict
        Failed scans of the configured inputs, ``{file, scan, pipeline, error, earlier}``
        (``earlier``: recorded by a previous run and not retried), at most
        :data:`MAX_LISTED_FAILURES`; ``n_failed`` counts them all.
    seconds : float
        Wall time of the run.
    per_spectrum_ms : float or None
        Wall time per scan computed in this run (None when nothing was computed).
    """

    done: int = 0
    skipped: int = 0
    failed: list[dict[str, Any]] = field(default_factory=list)
    n_failed: int = 0
    n_failed_now: int = 0
    seconds: float = 0.0
    per_spectrum_ms: float | None = None
    scheduler: str = ""
    chunks_committed: int = 0
    store: str | None = None
    summary_table: str | None = None
    report: str | None = None
    store_updated: bool = False
    interrupted: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def nothing_to_do(self) -> bool:
        return self.done == 0 and self.n_failed_now == 0 and not self.store_updated

    def to_json(self) -> dict[str, Any]:
        """The ``--json`` summary."""
        return {"done": self.done, "skipped": self.skipped, "failed": self.failed,
                "n_failed": self.n_failed, "seconds": round(self.seconds, 3),
                "per_spectrum_ms": None if self.per_spectrum_ms is None
                else round(self.per_spectrum_ms, 4),
                "scheduler": self.scheduler, "chunks_committed": self.chunks_committed,
                "store": self.store, "summary": self.summary_table, "report": self.report,
                "store_updated": self.store_updated, "nothing_to_do": self.nothing_to_do,
                "interrupted": self.interrupted, "notes": self.notes}

    def text(self) -> str:
        """The final report for people."""
        if self.nothing_to_do:
            head = (f"nothing to do: all {self.skipped} scan(s) already processed"
                    + (f" ({self.n_failed} failed earlier; --retry-failed tries them again)"
                       if self.n_failed else "") + "; store up to date")
        else:
            per = "" if self.per_spectrum_ms is None else f", {self.per_spectrum_ms:.2f} ms/scan"
            head = (f"done {self.done}, skipped {self.skipped} (already processed), failed "
                    f"{self.n_failed_now} in this run"
                    + (f" + {self.n_failed - self.n_failed_now} earlier" if
                       self.n_failed > self.n_failed_now else "")
                    + f"; {self.seconds:.1f} s{per} ({self.scheduler})")
        return head


# --------------------------------------------------------------------------- outputs
def check_outputs(cfg: BatchConfig) -> Ledger:
    """Refuse outputs that this batch did not write (before any work); return the ledger.

    A store, summary or report that exists is replaced only when the work folder's
    manifest says this batch wrote it; anything else is a user's file, never overwritten.

    Raises
    ------
    InputError
        An output exists and is not this batch's; the work folder is another batch's.
    """
    ledger = Ledger(cfg.work_dir)
    manifest = ledger.manifest() if Ledger.is_work_dir(cfg.work_dir) else {}
    if cfg.work_dir.exists() and not cfg.work_dir.is_dir():
        raise InputError(f"{cfg.path}: {cfg.work_dir} (the work folder of the store) exists "
                         "and is not a folder; move it away")
    if cfg.work_dir.is_dir() and not manifest and any(cfg.work_dir.iterdir()):
        raise InputError(f"{cfg.path}: {cfg.work_dir} exists and is not a naheo-spec work "
                         "folder; move it away or choose another store name")
    owned = {str(Path(p).resolve()) for p in manifest.get("outputs", {}).values() if p}
    for key, p in _outputs(cfg).items():
        if p is not None and p.exists() and str(p.resolve()) not in owned:
            raise InputError(f"{cfg.path}: [output] {key} {p} exists and was not written by "
                             "this batch; move it away or choose another name (nothing is "
                             "overwritten without asking)")
    return ledger


def _outputs(cfg: BatchConfig) -> dict[str, Path]:
    outs = {"store": cfg.store, "summary": cfg.summary, "report": cfg.report}
    if cfg.summary is not None:
        outs["summary (operando table)"] = cfg.summary.with_name(cfg.summary.stem +
                                                                 "_operando.csv")
    return {k: v for k, v in outs.items() if v is not None}


def remove_stale_temporaries(cfg: BatchConfig) -> list[Path]:
    """Delete what a killed store/summary/report write left next to them: the temporary
    files of :func:`naheo_spec.atomic.atomic_path` (``.<name>.<random>.tmp``) for this
    batch's own outputs (call with the work folder's lock held)."""
    gone = []
    for p in _outputs(cfg).values():
        for tmp in p.parent.glob(f".{p.name}.*.tmp"):
            with contextlib.suppress(OSError):
                tmp.unlink()
                gone.append(tmp)
    return gone


def manifest_for(cfg: BatchConfig) -> dict[str, Any]:
    from naheo_spec.provenance import package_version, utc_now

    outs = _outputs(cfg)
    return {"config": str(cfg.path), "store": str(cfg.store), "version": package_version(),
            "updated": utc_now(),
            "outputs": {k: str(v.resolve()) for k, v in outs.items() if v is not None}}


# --------------------------------------------------------------------------- progress
class Progress:
    def __init__(self, total: int, unit: str, enabled: bool | None):
        self.bar = None
        show = sys.stderr.isatty() if enabled is None else enabled
        if show and total > 0:
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit=unit, desc="batch", file=sys.stderr,
                            mininterval=0.5, dynamic_ncols=True, smoothing=0.1)

    def update(self, n: int, failed: int) -> None:
        if self.bar is not None:
            self.bar.update(n)
            if failed:
                self.bar.set_postfix(failed=failed, refresh=False)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


# --------------------------------------------------------------------------- tasks
def file_tasks(plan: Plan, ledger: Ledger, *, force: bool, retry_failed: bool,
               files=None) -> tuple[list[FileTask], int]:
    """Tasks for the files not yet processed; and the number of scans skipped."""
    files = plan.files if files is None else files
    items, skipped = [], 0
    for f in files:
        pending = []
        for name in plan.specs:
            key = plan.keys[(name, f.rel)]
            refs = None if force else ledger.file_rows(name, key)
            if refs is not None and not (retry_failed and any(not r.ok for r in refs)):
                skipped += len(refs)
                continue
            pending.append((name, key))
        if pending:
            items.append((str(f.path), f.rel, f.sha256, pending))
    size = plan.config.chunk
    tasks = [FileTask(items[i:i + size], plan.prepared, plan.technique,
                      dict(plan.config.read_options), str(ledger.tmp_path()),
                      records=plan.config.scan_records)
             for i in range(0, len(items), size)]
    return tasks, skipped


def stack_tasks(plan: Plan, ledger: Ledger, *, force: bool) -> tuple[list[StackTask], int]:
    st = plan.stack
    tasks, skipped = [], 0
    block = plan.config.block or DEFAULT_BLOCK
    for name in plan.specs:
        key = plan.keys[(name, st.rel)]
        ranges = [(i, min(i + plan.config.chunk, st.n_rows))
                  for i in range(0, st.n_rows, plan.config.chunk)] if force else \
            ledger.pending_ranges(name, key, st.n_rows, plan.config.chunk)
        skipped += st.n_rows - sum(b - a for a, b in ranges)
        tasks += [StackTask(str(st.path), st.dataset, st.info, a, b, name, key,
                            plan.prepared[name], block, str(ledger.tmp_path()))
                  for a, b in ranges]
    return tasks, skipped


def _prefetched(tasks: list[StackTask]):
    """(task, rows already read) with the next task's rows read in a thread meanwhile."""
    box: dict[int, Any] = {}

    def load(i):
        try:
            box[i] = read_stack_rows(tasks[i])
        except BaseException as exc:  # noqa: BLE001 -- re-raised in the main thread
            box[i] = exc

    th = None
    if tasks:
        th = threading.Thread(target=load, args=(0,), daemon=True)
        th.start()
    for i, task in enumerate(tasks):
        th.join()
        rows = box.pop(i)
        if i + 1 < len(tasks):
            th = threading.Thread(target=load, args=(i + 1,), daemon=True)
            th.start()
        yield task, rows


def execute(tasks: list, ledger: Ledger, *, scheduler: str, workers: int | None,
            progress: Progress, summary: BatchSummary, on_commit=None, executor=None) -> None:
    """Run the tasks, committing each chunk as it completes.

    ``executor``: ``(executor, n, description)`` started already (:func:`start_executor`);
    it is shut down at the end like one made here (idle workers hold no memory while the
    store is assembled)."""
    def done(report: ChunkReport) -> None:
        ledger.commit(Path(report.out))
        summary.chunks_committed += 1
        summary.done += report.n_ok
        failed = report.n_scans - report.n_ok
        summary.n_failed_now += failed
        summary.failed.extend(dict(f, earlier=False) for f in report.failures)
        progress.update(report.units, summary.n_failed_now)
        if on_commit is not None:
            on_commit(report)

    def lost(task, exc: BaseException) -> None:
        # the worker itself failed (killed, out of memory): nothing committed, retried
        # by the next run
        what = [(i[1], n) for i in task.items for n, _ in i[3]] if isinstance(task, FileTask) \
            else [(f"{task.path}[{task.start}:{task.stop}]", task.pipeline)]
        for file, name in what:
            summary.failed.append({"file": file, "scan": None, "pipeline": name,
                                   "error": f"worker failed: {error_text(exc)}",
                                   "earlier": False})
        summary.n_failed_now += len(what)
        with contextlib.suppress(OSError):
            Path(task.out).unlink()

    executor, n, desc = executor or make_executor(scheduler, workers)
    summary.scheduler = desc
    try:
        if executor is None:
            stacks = [t for t in tasks if isinstance(t, StackTask)]
            for t in tasks:
                if isinstance(t, FileTask):
                    done(run_file_task(t))
            for t, rows in _prefetched(stacks):
                if isinstance(rows, BaseException):
                    lost(t, rows)
                    continue
                done(run_stack_task(t, rows))
            return
        pending: dict[Future, Any] = {}
        queue = list(reversed(tasks))
        inflight = max(2, 2 * n)
        while queue or pending:
            while queue and len(pending) < inflight:
                t = queue.pop()
                fn = run_file_task if isinstance(t, FileTask) else run_stack_task
                pending[executor.submit(fn, t)] = t
            finished, _ = wait(list(pending), return_when=FIRST_COMPLETED)
            for fut in finished:
                t = pending.pop(fut)
                try:
                    report = fut.result()
                except Exception as exc:  # noqa: BLE001 -- recorded, the batch goes on
                    lost(t, exc)
                    continue
                done(report)
    finally:
        close_executor(executor)


def stack_work_seconds(cfg: BatchConfig) -> float | None:
    """Estimated CPU seconds of the config's stack through its pipelines' block functions
    (rows x ``block_cost_us``), read from the stack's shape before it is hashed; None for
    a file batch or a stack that cannot be opened (the plan reports why)."""
    if cfg.stack is None:
        return None
    specs = [get_pipeline(n) for n in cfg.pipelines]
    try:
        # sha256 given: the opening does not hash the file (make_plan does, once)
        src = specs[0].open_stack(cfg.stack, cfg.dataset, sha256="")
    except Exception:  # noqa: BLE001 -- make_plan opens it again and reports the problem
        return None
    try:
        rows = src.n_rows
    finally:
        src.close()
    return rows * sum(s.block_cost_us for s in specs) * 1e-6


# --------------------------------------------------------------------------- run
def run(config, *, force: bool = False, retry_failed: bool = False,
        progress: bool | None = None, assemble_outputs: bool = True,
        spawn_safe: bool | None = None) -> BatchSummary:
    """Run a batch config: what is already in the work folder is skipped.

    Parameters
    ----------
    config : str, Path or BatchConfig
        The TOML file (or one already loaded).
    force : bool
        Recompute everything (the new chunks supersede the old ones). Default is False.
    retry_failed : bool
        Recompute the files with a recorded failure. Default is False (a failure is a
        result: same input and parameters, same error).
    progress : bool, optional
        Progress bar on stderr; default None: when stderr is a terminal.
    assemble_outputs : bool
        Write the store, summary and report at the end. Default is True.
    spawn_safe : bool, optional
        ``scheduler = "auto"`` may start worker processes for a large stack. Default None:
        :func:`~naheo_spec.batch.schedulers.spawn_is_safe` (a notebook or interactive
        session, ``python -m naheo_spec``; the ``naheo-spec`` command passes True). A
        script that guards its work with ``if __name__ == "__main__":`` may pass True.

    Returns
    -------
    BatchSummary

    Raises
    ------
    InputError
        Any configuration problem, before any work.
    """
    t0 = time.perf_counter()
    cfg = config if isinstance(config, BatchConfig) else load_config(config)
    ledger = check_outputs(cfg)
    if spawn_safe is None:
        spawn_safe = spawn_is_safe()
    auto = cfg.scheduler == "auto"
    work = stack_work_seconds(cfg) if auto else None
    scheduler = resolve_scheduler(cfg.scheduler, cfg.workers, work, spawn_safe=spawn_safe)
    pool, warming, notes = None, [], []
    try:
        if scheduler == "processes":     # workers start up while the input is hashed
            warm = [get_pipeline(n).warm for n in cfg.pipelines if get_pipeline(n).warm]
            try:
                pool, warming = start_executor(scheduler, cfg.workers, warm)
            except (OSError, ImportError, NotImplementedError) as exc:
                if not auto:
                    raise
                pool, warming = None, []
                notes.append(f"worker processes could not start ({exc}): ran in one process")
        if pool is None and auto:
            scheduler = "local"
        plan = make_plan(cfg)            # options, standards, input hashes: errors before work
        return _run_plan(cfg, plan, ledger, scheduler, pool, t0, force=force,
                         retry_failed=retry_failed, progress=progress,
                         assemble_outputs=assemble_outputs, notes=notes,
                         warming=warming if pool is not None and auto else None)
    finally:
        close_executor(pool[0] if pool else None)   # (already shut after the chunks ran)


def _checked_pool(pool, warming, tasks, notes: list[str]):
    """The started pool, or None (shut) when nothing is left to compute or when the
    workers that ``auto`` chose could not start (``warming``: their warm-up futures;
    None when the pool was asked for by name and must not be second-guessed)."""
    if pool is None:
        return None
    if not tasks:
        close_executor(pool[0])
        return None
    why = workers_started(warming) if warming is not None else None
    if why is not None:
        close_executor(pool[0])
        notes.append(f"worker processes could not start ({why}): ran in one process")
        return None
    return pool


def _run_plan(cfg: BatchConfig, plan: Plan, ledger: Ledger, scheduler: str, pool, t0: float, *,
              force: bool, retry_failed: bool, progress, assemble_outputs: bool,
              notes: list[str], warming) -> BatchSummary:
    from naheo_spec.batch.assemble import assemble, store_is_current

    ledger.work_dir.mkdir(exist_ok=True)
    ledger.lock()                    # before create(): it removes leftover temporary files
    ledger.create(manifest_for(cfg))
    remove_stale_temporaries(cfg)
    try:
        ledger.load()
        first_seq = ledger.last_seq + 1
        summary = BatchSummary(store=str(cfg.store),
                               summary_table=str(cfg.summary) if cfg.summary else None,
                               report=str(cfg.report) if cfg.report else None)
        summary.notes += notes + [f"damaged chunk set aside: {d}" for d in ledger.damaged]
        if plan.stack is not None:
            tasks, summary.skipped = stack_tasks(plan, ledger, force=force)
            total, unit = sum(t.stop - t.start for t in tasks), "scan"
        else:
            tasks, summary.skipped = file_tasks(plan, ledger, force=force,
                                                retry_failed=retry_failed)
            total, unit = sum(len(i[3]) for t in tasks for i in t.items), "file"
        pool = _checked_pool(pool, warming, tasks, summary.notes)
        if pool is None and warming is not None:
            scheduler = "local"
        bar = Progress(total, unit, progress)
        summary.scheduler = scheduler
        try:
            if tasks:
                execute(tasks, ledger, scheduler=scheduler, workers=cfg.workers,
                        progress=bar, summary=summary, executor=pool)
        except KeyboardInterrupt:
            summary.interrupted = True
        finally:
            bar.close()
        computed = summary.done + summary.n_failed_now
        summary.skipped = max(0, summary.skipped)
        if assemble_outputs and not store_is_current(plan, ledger):
            assemble(plan, ledger)
            summary.store_updated = True
            ledger.drop_superseded()
        _collect_failures(plan, ledger, summary, first_seq)
        summary.seconds = time.perf_counter() - t0
        summary.per_spectrum_ms = (summary.seconds * 1e3 / computed) if computed else None
        if summary.interrupted:
            raise KeyboardInterrupt
        return summary
    finally:
        ledger.unlock()


def _collect_failures(plan: Plan, ledger: Ledger, summary: BatchSummary,
                      first_seq: int) -> None:
    """List every failure of the configured inputs (this run's and earlier ones: chunks
    numbered below ``first_seq`` were committed by earlier runs)."""
    listed = [f for f in summary.failed if f["error"].startswith("worker failed")]
    n = 0
    if plan.stack is None:
        for f in plan.files:
            for name in plan.specs:
                for r in ledger.file_rows(name, plan.keys[(name, f.rel)]) or ():
                    if r.ok:
                        continue
                    n += 1
                    if len(listed) < MAX_LISTED_FAILURES:
                        listed.append({"file": f.rel, "scan": r.scan, "pipeline": name,
                                       "error": r.error, "earlier": r.seq < first_seq})
    else:
        from naheo_spec.batch.assemble import stack_failures

        for name in plan.specs:
            key = plan.keys[(name, plan.stack.rel)]
            count, rows = stack_failures(ledger, name, key, MAX_LISTED_FAILURES - len(listed),
                                         first_seq, plan.stack.rel)
            n += count
            listed += [dict(r, pipeline=name) for r in rows]
    summary.failed = listed
    summary.n_failed = n + sum(1 for f in listed if f["error"].startswith("worker failed"))
