"""A self-contained HTML report of a batch store: tables and figures in one file.

Figures are PNG images embedded as base64 ``data:`` URIs and the style is inline, so the
page opens from disk in any browser, is mailed as one file, and needs no server.
:func:`write_report` reads only the store's batch entries (tables by column, a stack's
columns sampled for the figures), so a report of a 10^6-scan stack stays small.

Examples
--------
>>> write_report("results.h5", "report.html")      # doctest: +SKIP
PosixPath('report.html')
"""
from __future__ import annotations

import base64
import html
import io
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["write_report", "render_report", "MAX_ROWS"]

#: Rows of a per-scan table shown in the page (all are in the store and the summary CSV).
MAX_ROWS = 500
#: Values of a stack column drawn in a histogram (evenly strided).
MAX_SAMPLE = 200_000

_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.4em} h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;font-size:.85em;margin:.5em 0}
th,td{border:1px solid #ddd;padding:.2em .5em;text-align:right}
th{background:#f3f3f3} td.t{text-align:left} tr.bad td{background:#fff0f0}
.note{color:#555;font-size:.9em} img{max-width:100%;border:1px solid #eee;margin:.4em 0}
.counts span{display:inline-block;margin-right:1.5em}
"""


def _png(fig) -> str:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=96)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _img(fig, alt: str) -> str:
    return f'<img alt="{html.escape(alt)}" src="{_png(fig)}">'


def _fmt(v) -> str:
    if isinstance(v, (float, np.floating)):
        return "" if not np.isfinite(v) else f"{v:.4g}"
    if isinstance(v, bytes):
        v = v.decode()
    return html.escape(str(v))


def _str(v) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


def _json(entry, name: str) -> Any:
    from naheo_spec.store import loads_lossless

    return loads_lossless(_str(entry[name]["data"][()]))


def _table(headers: list[str], rows: list[list[Any]], bad: list[bool] | None = None) -> str:
    out = ["<table><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in headers) + "</tr>"]
    for i, r in enumerate(rows):
        cls = ' class="bad"' if bad and bad[i] else ""
        cells = "".join(f'<td class="t">{_fmt(v)}</td>' if isinstance(v, (str, bytes))
                        else f"<td>{_fmt(v)}</td>" for v in r)
        out.append(f"<tr{cls}>{cells}</tr>")
    out.append("</table>")
    return "\n".join(out)


def _files_section(name: str, entry) -> tuple[str, list[list[Any]]]:
    from matplotlib.figure import Figure

    g = entry["scans"]
    n = g["scan_index"].shape[0]
    summary = _json(entry, "summary_json")
    text = {k: [_str(x) for x in g[k].asstr()[()]] for k in ("file", "scan", "element", "error")}
    status = g["status"][()].astype(bool)
    num_cols = [k for k, ds in g.items() if ds.dtype.kind == "f" and not k.startswith("coord_")]
    coord_cols = [k for k in g if k.startswith("coord_") and g[k].dtype.kind == "f"]
    values = {k: g[k][()] for k in num_cols + coord_cols}
    units = {k: _str(g[k].attrs.get("units", "")) for k in num_cols}
    parts = [f"<h2>{html.escape(name)}: {n} scan(s)</h2>",
             f'<p class="counts"><span>ok: {summary.get("n_ok")}</span>'
             f'<span>failed: {summary.get("n_failed")}</span>'
             f'<span>files not yet processed: {summary.get("n_files_pending", 0)}</span></p>']
    if n and num_cols:
        first = num_cols[0]
        xkey = coord_cols[0] if coord_cols else None
        x = values[xkey] if xkey else np.arange(n)
        els = sorted(set(text["element"]))
        fig = Figure(figsize=(3.6 * max(1, len(els)), 3.0), layout="constrained")
        for ax, el in zip(fig.subplots(1, max(1, len(els)), squeeze=False)[0], els):
            sel = status & (np.array(text["element"]) == el) & np.isfinite(values[first])
            ax.plot(x[sel], values[first][sel], "o", ms=4)
            ax.set_title(el or "element unknown", fontsize=10)
            ax.set_xlabel(xkey[6:].replace("_", " ") if xkey else "scan (input order)")
            ax.set_ylabel(f"{first} ({units[first]})" if units[first] else first)
        parts.append(_img(fig, f"{name} {first} per scan"))
    shown = min(n, MAX_ROWS)
    headers = ["file", "scan", "element", *[c[6:] for c in coord_cols], "status", *num_cols]
    rows = [[text["file"][i], text["scan"][i], text["element"][i],
             *[values[c][i] for c in coord_cols], "ok" if status[i] else "failed",
             *[values[c][i] for c in num_cols]] for i in range(shown)]
    if n > shown:
        parts.append(f'<p class="note">first {shown} of {n} rows (all rows: the store and the '
                     "summary table)</p>")
    parts.append(_table(headers, rows, [not s for s in status[:shown]]))
    failures = [[name, text["file"][i], text["scan"][i], text["error"][i]]
                for i in range(n) if not status[i]]
    return "\n".join(parts), failures


def _stack_section(name: str, entry) -> tuple[str, list[list[Any]]]:
    from matplotlib.figure import Figure

    g = entry["scans"]
    summary = _json(entry, "summary_json")
    n = g["status"].shape[0]
    step = max(1, n // MAX_SAMPLE)
    cols = [k for k, ds in g.items() if ds.dtype.kind == "f"]
    parts = [f"<h2>{html.escape(name)}: stack of {n} scans</h2>",
             f'<p class="counts"><span>ok: {summary.get("n_ok")}</span>'
             f'<span>failed: {summary.get("n_failed")}</span>'
             f'<span>not computed yet: {summary.get("n_pending")}</span></p>']
    stats = []
    figs = []
    for c in cols:
        v = g[c][::step]
        fin = v[np.isfinite(v)]
        unit = _str(g[c].attrs.get("units", ""))
        stats.append([c, unit, fin.size, *(np.percentile(fin, [0, 50, 100]) if fin.size
                                          else [np.nan] * 3)])
        if fin.size and len(figs) < 3:
            figs.append((c, unit, fin))
    parts.append(f'<p class="note">statistics over {"every" if step == 1 else f"every {step}th"}'
                 " scan</p>")
    parts.append(_table(["column", "unit", "finite values", "min", "median", "max"], stats))
    if figs:
        fig = Figure(figsize=(4 * len(figs), 3), layout="constrained")
        for ax, (c, unit, fin) in zip(fig.subplots(1, len(figs), squeeze=False)[0], figs):
            ax.hist(fin, bins=60)
            ax.set_xlabel(f"{c} ({unit})" if unit else c)
            ax.set_ylabel("scans")
        parts.append(_img(fig, f"{name} histograms"))
    counts = summary.get("warning_counts") or {}
    if counts:
        parts.append(_table(["warning code", "scans"], [[k, v] for k, v in counts.items()]))
    failures = []
    if "errors" in entry:
        e = entry["errors"]
        msgs = [_str(x) for x in e["messages"].asstr()[()]]
        rows, idx = e["error_row"][:MAX_ROWS], e["message_index"][:MAX_ROWS]
        failures = [[name, summary.get("stack"), f"row {int(r)}", msgs[int(k)]]
                    for r, k in zip(rows, idx)]
    return "\n".join(parts), failures


def _operando_section(root) -> str:
    from naheo_spec.batch.operando import operando_figure, read_operando_table

    table = read_operando_table(root)
    parts = ["<h2>Operando: per element vs " + html.escape(table.coordinate) + "</h2>",
             _img(operando_figure(table), "operando figure"),
             _table(table.columns, table.rows)]
    if table.synthetic:
        parts.insert(1, '<p class="note"><b>SYNTHETIC</b> input (demo data).</p>')
    return "\n".join(parts)


def render_report(store) -> str:
    """The HTML page of a batch store (a string).

    Raises
    ------
    StoreError
        Not a readable store, or not written by ``naheo-spec batch``.
    """
    import h5py

    from naheo_spec.errors import StoreError

    store = Path(store)
    try:
        f = h5py.File(store, "r")
    except OSError as exc:
        raise StoreError(f"{store}: not a readable HDF5 store ({exc})") from None
    with f:
        if "batch" not in f or _str(f["batch"].attrs.get("kind", "")) != "batch":
            raise StoreError(f"{store}: not a naheo-spec batch store (no 'batch' entry); the "
                             "report is made from the store of `naheo-spec batch`")
        batch = f["batch"]
        summary = _json(batch, "summary_json")
        date = _str(batch["process"]["date"][()])
        version = _str(batch["process"]["version"][()])
        sections, failures = [], []
        for name, entry in f.items():
            kind = _str(entry.attrs.get("kind", ""))
            pipeline = _str(_json(entry, "summary_json").get("pipeline", name)) \
                if kind.startswith("batch_") else name
            if kind == "batch_table":
                s, fl = _files_section(pipeline, entry)
            elif kind == "batch_stack":
                s, fl = _stack_section(pipeline, entry)
            else:
                continue
            sections.append(s)
            failures += fl
        if "operando" in f:
            sections.insert(0, _operando_section(f))
    head = (f"<h1>naheo-spec batch report</h1><p class=\"note\">store {html.escape(str(store))}"
            f" &middot; config {html.escape(str(summary.get('config')))} &middot; built "
            f"{html.escape(date)} &middot; naheo_spec {html.escape(version)}</p>")
    counts = "".join(f"<span>{html.escape(k.replace('_', ' '))}: {v}</span>"
                     for k, v in summary.items() if k.endswith(("_n_ok", "_n_failed")))
    fail = ""
    if failures:
        fail = (f"<h2>Failures ({len(failures)}{'+' if len(failures) >= MAX_ROWS else ''})</h2>"
                + _table(["pipeline", "file", "scan", "error"], failures[:MAX_ROWS]))
    body = "\n".join([head, f'<p class="counts">{counts}</p>', fail, *sections])
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>naheo-spec report: {html.escape(store.name)}</title>"
            f"<style>{_STYLE}</style></head><body>\n{body}\n</body></html>\n")


def write_report(store, out, *, overwrite: bool = True) -> Path:
    """Write the report of ``store`` to ``out`` atomically.

    Parameters
    ----------
    store : str or Path
        A store written by ``naheo-spec batch`` (or ``watch``).
    out : str or Path
        The ``.html`` file.
    overwrite : bool
        Replace an existing ``out``. Default is True (the batch owns its report; the CLI
        checks first).

    Returns
    -------
    Path
    """
    from naheo_spec.atomic import atomic_path

    page = render_report(store)
    out = Path(out)
    with atomic_path(out, overwrite=overwrite) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return out
