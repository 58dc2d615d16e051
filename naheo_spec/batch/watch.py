"""Beamtime mode: process scans as they land in a folder; keep the store and report current.

:func:`watch` follows a folder with file-system events (the ``watchdog`` package when it is
installed, else polling every ``poll`` seconds; events only wake the loop sooner, the
decision is always made on the folder's listing). A file is taken once its size and
modification time have not changed for ``stable`` seconds, so a scan still being written
by the beamline (or copied) is waited for, never read half-written. Each batch of new
files is computed like ``naheo-spec batch`` does (same config, same keys: a file already
in the store is not computed again), committed as a chunk, and the store, the summary
table and the HTML report are rebuilt atomically.

Files are matched by the file-name part of the config's ``[input] files`` globs
(``"scans/*.xdi"`` watches ``*.xdi``; no globs: every file), hidden and temporary names
(``.*``, ``*.tmp``, ``*.part``, ``*~``) excepted.
"""
from __future__ import annotations

import fnmatch
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from naheo_spec.batch.config import BatchConfig, load_config
from naheo_spec.batch.plan import ShaCache, file_inputs, make_plan
from naheo_spec.batch.runner import (
    BatchSummary,
    Progress,
    check_outputs,
    execute,
    file_tasks,
    manifest_for,
    remove_stale_temporaries,
)
from naheo_spec.errors import InputError

__all__ = ["watch", "WatchState", "ready_files"]

_SKIP = (".*", "*.tmp", "*.part", "*~", "*.swp", "*.crdownload")


@dataclass
class WatchState:
    """What the watcher has seen: per file (size, mtime_ns, first time seen unchanged)."""

    seen: dict[Path, tuple[int, int, float]] = field(default_factory=dict)
    processed: dict[Path, tuple[int, int]] = field(default_factory=dict)


def _matches(name: str, patterns: list[str]) -> bool:
    if any(fnmatch.fnmatch(name, s) for s in _SKIP):
        return False
    return not patterns or any(fnmatch.fnmatch(name, p) for p in patterns)


def ready_files(folder: Path, patterns: list[str], state: WatchState, *, stable: float,
                now: float | None = None) -> list[Path]:
    """Files of ``folder`` that match, are new or changed since processed, and have kept
    the same size and modification time for ``stable`` seconds (partial files wait)."""
    now = time.monotonic() if now is None else now
    out = []
    for p in sorted(folder.iterdir()):
        if not p.is_file() or not _matches(p.name, patterns):
            continue
        try:
            st = p.stat()
        except OSError:          # vanished meanwhile
            continue
        sig = (st.st_size, st.st_mtime_ns)
        if state.processed.get(p) == sig or st.st_size == 0:
            continue
        old = state.seen.get(p)
        if old is None or old[:2] != sig:
            state.seen[p] = (*sig, now)
            continue
        if now - old[2] >= stable:
            out.append(p)
    return out


def _wakeup(folder: Path) -> tuple[threading.Event, object | None]:
    """An event set on any file-system change in ``folder`` (watchdog), or None."""
    event = threading.Event()
    try:
        from watchdog.events import FileSystemEventHandler
        from watchdog.observers import Observer
    except ImportError:
        return event, None

    class Handler(FileSystemEventHandler):
        def on_any_event(self, ev):  # noqa: D401 - watchdog callback
            event.set()

    obs = Observer()
    obs.schedule(Handler(), str(folder), recursive=False)
    obs.daemon = True
    obs.start()
    return event, obs


def watch(folder, config, *, poll: float = 1.0, stable: float = 1.0,
          timeout: float | None = None, once: bool = False,
          stop: threading.Event | None = None,
          on_update: Callable[[BatchSummary, list[Path]], None] | None = None) -> BatchSummary:
    """Process the scans of ``folder`` as they land, with the pipelines of ``config``.

    Parameters
    ----------
    folder : str or Path
        The folder the beamline writes to.
    config : str, Path or BatchConfig
        The batch config (its ``[input] files`` globs give the file patterns; its outputs
        are appended to; a report is kept even when ``[output] report`` is not set:
        ``report.html`` next to the store).
    poll : float
        Seconds between listings when no event arrives. Default is 1.0.
    stable : float
        Seconds a file's size and modification time must stay unchanged before it is
        read. Default is 1.0.
    timeout : float, optional
        Stop after this many seconds. Default None: until ``stop`` is set or Ctrl-C.
    once : bool
        Process what is in the folder now (waiting for partial files) and return.
    stop : threading.Event, optional
        Set it to stop the watcher (tests, embedding).
    on_update : callable, optional
        Called with the running summary and the files just processed, after the store and
        the report were rewritten.

    Returns
    -------
    BatchSummary
        Totals over the session.

    Raises
    ------
    InputError
        Not a folder, a stack config, or a config problem (before watching).
    """
    from naheo_spec.batch.assemble import assemble
    from naheo_spec.batch.plan import prepare_pipelines

    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"watch: {folder} is not a folder")
    cfg = config if isinstance(config, BatchConfig) else load_config(config,
                                                                     allow_no_inputs=True)
    if cfg.stack is not None:
        raise InputError(f"{cfg.path}: watch processes files as they land; a stack config "
                         "is run with naheo-spec batch")
    if cfg.report is None:
        cfg.report = cfg.store.with_name("report.html")
    patterns = list(dict.fromkeys(Path(p).name for p in cfg.patterns))
    ledger = check_outputs(cfg)
    ledger.work_dir.mkdir(exist_ok=True)
    ledger.lock()                    # before create(): it removes leftover temporary files
    ledger.create(manifest_for(cfg))
    remove_stale_temporaries(cfg)
    event, observer = _wakeup(folder)
    total = BatchSummary(store=str(cfg.store), report=str(cfg.report),
                         summary_table=str(cfg.summary) if cfg.summary else None)
    t0 = time.monotonic()
    state, sha = WatchState(), ShaCache()
    try:
        ledger.load()
        pipes = prepare_pipelines(cfg)
        known = {p.resolve() for p in cfg.expand_files()}
        first = True
        while True:
            ready = ready_files(folder, patterns, state, stable=stable)
            if ready or first:
                known |= {p.resolve() for p in ready}
                _process(cfg, pipes, ledger, sorted(known), ready, sha, total, assemble)
                for p in ready:
                    st = p.stat()
                    state.processed[p] = (st.st_size, st.st_mtime_ns)
                if on_update is not None and (ready or first):
                    on_update(total, ready)
                first = False
            pending = [p for p in state.seen if p not in state.processed]
            if once and not pending and not ready:
                break
            if (stop is not None and stop.is_set()) or \
                    (timeout is not None and time.monotonic() - t0 > timeout):
                break
            event.wait(min(poll, stable / 2) if pending else poll)
            event.clear()
    except KeyboardInterrupt:
        total.interrupted = True
    finally:
        if observer is not None:
            observer.stop()
        ledger.unlock()
    total.seconds = time.monotonic() - t0
    return total


def _process(cfg, pipes, ledger, files, ready, sha, total, assemble) -> None:
    """Compute the files not in the ledger yet, commit, rebuild store/summary/report."""
    from naheo_spec.batch.assemble import store_is_current

    plan = make_plan(_no_files(cfg), pipelines=pipes)
    plan.add_files(file_inputs([Path(p) for p in files], cfg.base_dir, sha))
    tasks, _ = file_tasks(plan, ledger, force=False, retry_failed=False)
    t1 = time.perf_counter()
    if tasks:
        execute(tasks, ledger, scheduler=cfg.scheduler, workers=cfg.workers,
                progress=Progress(0, "file", False), summary=total)
        total.notes.append(f"computed {sum(len(i[3]) for t in tasks for i in t.items)} "
                           f"file-pipeline(s) in {time.perf_counter() - t1:.2f} s")
    if not store_is_current(plan, ledger):
        assemble(plan, ledger)
        total.store_updated = True


def _no_files(cfg: BatchConfig) -> BatchConfig:
    from dataclasses import replace

    return replace(cfg, files=[])
