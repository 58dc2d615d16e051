"""``naheo-spec watch DIR --config CONFIG.toml``: process scans as they land."""
from __future__ import annotations

import click

from naheo_spec.cli.common import echo_err, json_option, print_json


@click.command()
@click.argument("folder", type=click.Path(file_okay=False))
@click.option("--config", "config", required=True, type=click.Path(dir_okay=False),
              help="Batch config (TOML): pipelines, outputs; [input] files globs give the "
                   "file patterns to take.")
@click.option("--poll", type=click.FloatRange(min=0.05), default=1.0, show_default=True,
              help="Seconds between folder listings when no file-system event arrives.")
@click.option("--stable", type=click.FloatRange(min=0.0), default=1.0, show_default=True,
              help="Seconds a file must keep its size before it is read (partial files wait).")
@click.option("--timeout", type=click.FloatRange(min=0.0), default=None,
              help="Stop after this many seconds (default: run until Ctrl-C).")
@click.option("--once", is_flag=True, help="Process what is in FOLDER now, then exit.")
@json_option
def watch(folder, config, poll, stable, timeout, once, as_json):
    """Watch FOLDER: every new scan is processed with the pipelines of CONFIG, appended to
    the store, and the HTML report ([output] report, default report.html next to the store)
    is rewritten, self-contained (open it in a browser; reload to refresh).

    Stop with Ctrl-C; what was processed stays in the store (a later `naheo-spec batch`
    or `watch` with the same config skips it).
    """
    from naheo_spec.batch.watch import watch as run_watch

    def update(summary, files):
        for f in files:
            echo_err(f"processed {f}")
        if files:
            echo_err(f"  total: {summary.done} scan(s) ok, {summary.n_failed_now} failed; "
                     f"report {summary.report}")

    if not as_json:
        echo_err(f"watching {folder} (Ctrl-C to stop)" if not once else f"processing {folder}")
    summary = run_watch(folder, config, poll=poll, stable=stable, timeout=timeout, once=once,
                        on_update=update)
    if as_json:
        print_json(summary.to_json())
    else:
        for f in summary.failed[:20]:
            echo_err(f"failed: {f['pipeline']}: {f['file']}: {f['error']}")
        echo_err(f"stopped: {summary.done} scan(s) processed, {summary.n_failed_now} failed")
    return 1 if summary.n_failed_now else 0
