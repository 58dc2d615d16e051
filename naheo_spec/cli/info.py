"""``naheo-spec info FILE...``: what was read from each file, block by block."""
from __future__ import annotations

import click

from naheo_spec.cli.common import (
    debug_flag,
    echo_warnings,
    format_option,
    json_option,
    merge_warnings,
    print_json,
    report_failures,
    run_batch,
)
from naheo_spec.model.axis import AxisKind


def describe_block(block) -> dict:
    """JSON-safe description of a Spectrum or SpectrumStack as read (no processing)."""
    from naheo_spec.model import SpectrumStack

    a = block.axis
    d = {
        "file": block.source.path,
        "block": block.source.scan,
        "scan": block.source.scan,
        "format": block.source.format,
        "sha256": block.source.sha256,
        "technique": block.axis_kind.technique,
        "axis_kind": block.axis_kind.value,
        "axis_unit": block.axis_unit,
        "axis_min": float(a[0]),
        "axis_max": float(a[-1]),
        "points": int(a.size),
        "element": block.element,
        "edge": block.edge,
        "signal": block.signal_label,
        "channels": list(block.channels),
        "columns": dict(block.source.columns),
        "acquisition": None if block.acquisition is None else block.acquisition.to_dict(),
        "has_reference": "reference" in block.channels,
        "athena_eshift_eV": block.metadata.get("athena_eshift_eV"),
        "warnings": list(block.warnings),
    }
    if isinstance(block, SpectrumStack):
        d.update(spectra=len(block), valid=int(block.mask.sum()),
                 coordinates=list(block.coordinates), map_shape=block.map_shape,
                 row_warnings=block.row_warnings.counts())
    return d


def _line(d) -> str:
    where = f" [{d['block']}]" if d["block"] else ""
    unit = d["axis_unit"]
    what = f", {d['element'] or '?'} {d['edge'] or '?'}-edge" if d["axis_kind"] == "photon_energy" \
        else ""
    acq = d.get("acquisition") or {}
    if acq.get("region") or acq.get("sample"):
        what += f", {acq.get('sample') or ''} {acq.get('region') or ''}".rstrip()
    if acq.get("photon_energy_eV"):
        what += f", hv {acq['photon_energy_eV']:g} eV"
    if acq.get("laser_wavelength_nm"):
        what += f", laser {acq['laser_wavelength_nm']:g} nm"
    rows = f", {d['spectra']} spectra" if "spectra" in d else ""
    chans = f", channels: {', '.join(d['channels'])}" if d["channels"] else ""
    return (f"{d['file']}{where}: {d['format']}, {d['axis_kind']} {d['axis_min']:.6g}.."
            f"{d['axis_max']:.6g} {unit}, {d['points']} points{rows}{what}{chans}")


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@format_option()
@click.option("--technique", type=click.Choice(["xas", "xps", "raman"]), default=None,
              help="Consider only this technique's formats (and neutral ones).")
@click.option("--axis-kind", type=click.Choice([k.value for k in AxisKind]), default=None,
              help="Force the axis kind of plain x-y text.")
@click.option("--mu", "mu_expr", default=None, metavar="EXPR",
              help="XAS columns: expression for mu from column labels, e.g. 'ln(i0/it)'.")
@click.option("--ref", "ref_expr", default=None, metavar="EXPR",
              help="XAS columns: expression for the reference channel, e.g. 'ln(it/ir)'.")
@json_option
@click.pass_context
def info(ctx, files, fmt, technique, axis_kind, mu_expr, ref_expr, as_json):
    """Show what was read from each FILE, one entry per block: format, axis kind and range,
    points, element/edge or region, channels, acquisition settings, warnings.

    Files that cannot be read are reported (one line each) and the exit code is 1;
    the other files are still described.
    """
    from naheo_spec.io import read

    outcomes = run_batch(files, lambda f: read(f, format=fmt, technique=technique,
                                               axis_kind=axis_kind, mu=mu_expr, ref=ref_expr),
                         desc="reading", debug=debug_flag(ctx))
    rows = []
    for o in outcomes:
        if not o.ok:
            rows.append({"file": o.file, "error": o.error, "warnings": o.warnings})
            continue
        file_level = merge_warnings(o.value.warnings)
        for block in o.value:
            d = describe_block(block)
            # warnings raised while reading that no block kept are the file's own
            d["warnings"] = merge_warnings(d["warnings"], file_level)
            rows.append(d)
    if as_json:
        print_json(rows)
    else:
        for d in rows:
            if "error" in d:
                continue
            click.echo(_line(d))
            echo_warnings(d["warnings"])
    return report_failures(outcomes)
