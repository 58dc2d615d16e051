"""``naheo-spec batch CONFIG.toml``: every scan of a config, resumable, atomic per chunk."""
from __future__ import annotations

import click

from pathlib import Path

from naheo_spec.cli.common import echo_err, json_option, print_json

#: Failures printed one by one on stderr (all are in the store, the summary and --json).
SHOWN_FAILURES = 20


@click.command()
@click.argument("config", type=click.Path(dir_okay=False))
@click.option("--force", is_flag=True,
              help="Recompute every scan, even those already processed (the new results "
                   "replace the old ones in the store).")
@click.option("--retry-failed", is_flag=True,
              help="Recompute the files whose scans failed in an earlier run.")
@json_option
def batch(config, force, retry_failed, as_json):
    """Run the pipelines of CONFIG.toml on all its inputs.

    Results go to the store, the summary table and the report named in [output]; a work
    folder next to the store (<store>.batch/) keeps every finished chunk, so that running
    the same command again after a crash or Ctrl-C finishes the rest without computing
    anything twice. Bad scans are recorded with their error and the run goes on; the exit
    status is 1 when any scan failed.
    """
    from naheo_spec.batch.runner import run

    summary = run(config, force=force, retry_failed=retry_failed, spawn_safe=True)
    if as_json:
        print_json(summary.to_json())
    else:
        for f in summary.failed[:SHOWN_FAILURES]:
            where = f["file"] or ""
            if f.get("scan"):
                where += f" [{f['scan']}]" if where else f["scan"]
            tag = " (earlier run)" if f.get("earlier") else ""
            named = f["file"] and Path(f["file"]).name in f["error"]     # says it already
            echo_err(f"failed: {f['pipeline']}: " + ("" if named else f"{where}: ")
                     + f"{f['error']}{tag}")
        if summary.n_failed > SHOWN_FAILURES:
            echo_err(f"... and {summary.n_failed - SHOWN_FAILURES} more failure(s): see the "
                     "summary table")
        for note in summary.notes:
            echo_err(f"note: {note}")
        if summary.store_updated:
            outs = [o for o in (summary.store, summary.summary_table, summary.report) if o]
            echo_err("wrote " + ", ".join(outs))
        echo_err(summary.text())
    return 1 if summary.n_failed else 0
