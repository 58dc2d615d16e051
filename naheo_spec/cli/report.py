"""``naheo-spec report STORE -o report.html``: the HTML report of a batch store."""
from __future__ import annotations

import click

from naheo_spec.cli.common import echo_err, overwrite_option


@click.command()
@click.argument("store", type=click.Path(dir_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="The HTML file to write (self-contained: figures embedded).")
@overwrite_option
def report(store, output, overwrite):
    """Write the self-contained HTML report (tables, failures, figures, operando table)
    of STORE, a results store of `naheo-spec batch` or `watch`."""
    from pathlib import Path

    from naheo_spec.batch.report import write_report
    from naheo_spec.cli.outputs import OutputPlan
    from naheo_spec.errors import InputError

    if Path(output).suffix.lower() not in (".html", ".htm"):
        raise InputError(f"-o {output}: the report is an .html file")
    if not Path(store).is_file():
        raise InputError(f"{store}: no such store")
    plan = OutputPlan(overwrite=overwrite)
    plan.file("-o", output)
    plan.check()
    with plan.writing() as tx:
        write_report(store, tx.path(output), overwrite=True)
    echo_err(f"wrote {output}")
    return 0
