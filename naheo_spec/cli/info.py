"""``naheo-spec info FILE...``: what was read from each file."""
from __future__ import annotations

import click

from naheo_spec.cli._common import echo_err, json_option, print_json, report_failures, run_batch


def describe_spectrum(spec) -> dict:
    """JSON-safe description of a Spectrum as read (no processing)."""
    e = spec.axis
    return {
        "file": spec.source.path,
        "scan": spec.source.scan,
        "format": spec.source.format,
        "sha256": spec.source.sha256,
        "element": spec.element,
        "edge": spec.edge,
        "columns": dict(spec.source.columns),
        "points": int(e.size),
        "axis_unit": spec.axis_unit,
        "axis_min": float(e[0]),
        "axis_max": float(e[-1]),
        "has_reference": spec.reference is not None,
        "athena_eshift_eV": spec.metadata.get("athena_eshift_eV"),
        "warnings": list(spec.warnings),
    }


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--mu", "mu_expr", default=None, metavar="EXPR",
              help="Expression for mu from column labels, e.g. 'ln(i0/it)' or 'if/i0'.")
@click.option("--ref", "ref_expr", default=None, metavar="EXPR",
              help="Expression for the reference channel, e.g. 'ln(it/ir)'.")
@json_option
@click.pass_context
def info(ctx, files, mu_expr, ref_expr, as_json):
    """Show what was read from each FILE: format, element/edge, columns used, points, range.

    Files that cannot be read are reported (one line each) and the exit code is 1;
    the other files are still described.
    """
    from naheo_spec.io import read_spectra

    debug = ctx.obj.get("debug", False) if ctx.obj else False
    outcomes = run_batch(files, lambda f: read_spectra(f, mu=mu_expr, ref=ref_expr),
                         desc="reading", debug=debug)
    rows = []
    for o in outcomes:
        if not o.ok:
            rows.append({"file": o.file, "error": o.error, "warnings": o.warnings})
            continue
        for spec in o.value:
            d = describe_spectrum(spec)
            d["warnings"] = list(dict.fromkeys(d["warnings"] + o.warnings))
            rows.append(d)
    if as_json:
        print_json(rows)
    else:
        for d in rows:
            if "error" in d:
                continue
            scan = f" [{d['scan']}]" if d["scan"] else ""
            cols = ", ".join(f"{k}={v}" for k, v in d["columns"].items()) or "-"
            click.echo(f"{d['file']}{scan}: {d['format']}, {d['element'] or '?'} {d['edge'] or '?'}-edge, "
                       f"{d['points']} points, {d['axis_min']:.1f}-{d['axis_max']:.1f} {d['axis_unit']}, "
                       f"columns: {cols}, reference: {'yes' if d['has_reference'] else 'no'}")
            for w in d["warnings"]:
                echo_err(f"  warning: {w}")
    return report_failures(outcomes)
