"""Operando tables and figures: the numbers per element against state of charge.

For a multi-edge series (Ni, Fe and Mn K edges of the same electrodes), a paper shows one
table -- per state of charge, the oxidation state and the TM-O / TM-TM distances of each
element -- and the figure of the same. :func:`operando_table` builds it from the batch's
per-scan rows: each scan carries its element and its coordinates (from the file's
metadata or the coordinates CSV); scans of the same element at the same coordinate value
are averaged (``n`` says how many).

The table is technique-neutral: it takes the per-scan columns by role, from the first
pipeline (config order) that reports them:

==================  =========================================================
role                column names looked for
==================  =========================================================
oxidation state     ``oxidation_state`` (and ``oxidation_state_err``)
edge position       ``e0_eV`` (XANES)
TM-O distance       ``fit_r_TM_O_A`` (shell fit), else ``r_apparent_TM_O_A``
TM-TM distance      ``fit_r_TM_TM_A`` (shell fit), else ``r_apparent_TM_TM_A``
==================  =========================================================

Apparent distances (FT peak positions, not phase corrected: 0.3-0.5 A below the bond
lengths) are labelled ``apparent`` in the column names and on the figure.

References
----------
.. [1] T. Cai et al., Nano-Micro Lett. 16, 10 (2024), doi:10.1007/s40820-023-01232-0
   (Ni, Fe, Mn K-edge XANES/EXAFS against state of charge in a layered sodium oxide).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["OperandoTable", "operando_table", "operando_record", "operando_figure",
           "read_operando_table", "COORDINATE_PREFERENCE"]

#: Which coordinate is the x axis, in order of preference.
COORDINATE_PREFERENCE = ("state_of_charge", "potential", "charge", "capacity", "time", "cycle")
_QUANTITIES = (
    ("oxidation_state", ("oxidation_state",), ""),
    ("oxidation_state_err", ("oxidation_state_err",), ""),
    ("e0_eV", ("e0_eV",), "eV"),
    ("TM_O", ("fit_r_TM_O_A", "r_apparent_TM_O_A"), "angstrom"),
    ("TM_TM", ("fit_r_TM_TM_A", "r_apparent_TM_TM_A"), "angstrom"),
)


@dataclass
class OperandoTable:
    """Per element, the numbers at each coordinate value.

    Attributes
    ----------
    coordinate : str
        The x quantity (``state_of_charge``...).
    x : ndarray of shape (K,)
        Its distinct values, ascending.
    elements : list of str
    columns : list of str
        ``coordinate`` then ``<El>_<quantity>`` names (distances ``<El>_TM_O_A`` from fits,
        ``<El>_TM_O_apparent_A`` from FT peaks) and ``<El>_n`` (scans averaged).
    rows : list of list
        One row per x value (NaN where an element was not measured).
    data : dict of str to ndarray of shape (K,)
        The same, by column.
    synthetic : bool
        Some input was synthetic (the demo data); figures say so.
    """

    coordinate: str
    x: np.ndarray
    elements: list[str]
    columns: list[str]
    data: dict[str, np.ndarray]
    units: dict[str, str] = field(default_factory=dict)
    synthetic: bool = False

    @property
    def rows(self) -> list[list[Any]]:
        return [[float(self.data[c][i]) for c in self.columns] for i in range(self.x.size)]


def _pick(tables, candidates):
    """(table, column) of the first pipeline reporting one of ``candidates`` with at least
    one finite value (a shell-fit column stays NaN when no fit was asked for)."""
    for cand in candidates:
        for t in tables.values():
            if cand in t.values and np.isfinite(np.asarray(t.values[cand], dtype=float)).any():
                return t, cand
    return None, None


def operando_table(tables) -> OperandoTable | None:
    """The per-element table from the batch's per-scan tables (None when no scan carries a
    coordinate with two distinct values, or no element is known).

    Parameters
    ----------
    tables : dict of str to FileTable
        :func:`naheo_spec.batch.assemble.file_tables`.
    """
    coord = None
    for name in COORDINATE_PREFERENCE:
        vals = {round(float(c[name]), 9) for t in tables.values() for c in t.coords
                if isinstance(c.get(name), (int, float)) and np.isfinite(c.get(name))}
        if len(vals) >= 2:
            coord = name
            break
    if coord is None:
        return None
    synthetic = any(c.get("synthetic") for t in tables.values() for c in t.coords)
    acc: dict[tuple[str, float], dict[str, list[float]]] = {}
    elements: list[str] = []
    columns = [coord]
    units = {coord: ""}
    for qty, cands, unit in _QUANTITIES:
        t, col = _pick(tables, cands)
        if t is None:
            continue
        label = qty + ("_apparent" if col.startswith("r_apparent") else "")
        label = label + "_A" if unit == "angstrom" else label
        for i in range(len(t)):
            x = t.coords[i].get(coord)
            el = t.element[i]
            if not t.status[i] or not el or not isinstance(x, (int, float)) or not np.isfinite(x):
                continue
            v = t.values[col][i]
            if not np.isfinite(v):
                continue
            if el not in elements:
                elements.append(el)
            cell = acc.setdefault((el, round(float(x), 9)), {})
            cell.setdefault(label, []).append(float(v))
            units[label] = unit
    if not elements:
        return None
    xs = np.array(sorted({x for _, x in acc}))
    labels = list(dict.fromkeys(lab for cell in acc.values() for lab in cell))
    order = [q for q, _, _ in _QUANTITIES]
    labels.sort(key=lambda lab: next(k for k, q in enumerate(order) if lab.startswith(q)
                                     and (lab == q or lab[len(q)] == "_")))
    data = {coord: xs}
    for el in sorted(elements, key=_z):
        n = np.zeros(xs.size)
        for lab in labels:
            col = np.full(xs.size, np.nan)
            for k, x in enumerate(xs):
                vals = acc.get((el, x), {}).get(lab)
                if vals:
                    col[k] = np.mean(vals)
                    n[k] = max(n[k], len(vals))
            data[f"{el}_{lab}"] = col
            columns.append(f"{el}_{lab}")
            units[f"{el}_{lab}"] = units.get(lab, "")
        data[f"{el}_n"] = n
        columns.append(f"{el}_n")
        units[f"{el}_n"] = ""
    return OperandoTable(coord, xs, sorted(elements, key=_z), columns, data, units, synthetic)


def _z(el: str) -> int:
    order = ["Ti", "V", "Cr", "Mn", "Fe", "Co", "Ni", "Cu", "Zn"]
    return order.index(el) if el in order else 99


def operando_record(table: OperandoTable, plan):
    """The table as a store record (kind ``"operando"``, one NXdata on the coordinate)."""
    from naheo_spec.provenance import Provenance
    from naheo_spec.records import DataArray, DataGroup, Record, nexus_name

    data = {nexus_name(c): DataArray(np.asarray(v, dtype=float), table.units.get(c, ""), c)
            for c, v in table.data.items()}
    signal = next((nexus_name(c) for c in table.columns[1:] if "oxidation_state" in c),
                  nexus_name(table.columns[1]))
    group = DataGroup(data, signal=signal, axes=[nexus_name(table.coordinate)],
                      title=f"per element vs {table.coordinate}")
    return Record(name="operando", kind="operando",
                  summary={"coordinate": table.coordinate, "elements": table.elements,
                           "n_points": int(table.x.size), "columns": table.columns,
                           "synthetic": table.synthetic},
                  provenance=Provenance(step="batch.operando",
                                        parameters={"coordinate": table.coordinate},
                                        source_file=str(plan.config.path),
                                        source_sha256=plan.config.sha256),
                  groups={"table": group})


def read_operando_table(store) -> OperandoTable | None:
    """The operando table of a batch store (None when the run had no coordinate).

    Parameters
    ----------
    store : str, pathlib.Path or h5py.Group
        A results file written by ``naheo-spec batch``, or its open root group.

    Examples
    --------
    >>> table = read_operando_table("results.h5")           # doctest: +SKIP
    >>> fig = operando_figure(table)                         # doctest: +SKIP
    """
    import h5py

    from naheo_spec.records import nexus_name
    from naheo_spec.store import loads_lossless

    if not isinstance(store, h5py.Group):
        with h5py.File(store, "r") as f:
            return read_operando_table(f)
    if "operando" not in store:
        return None
    entry = store["operando"]
    raw = entry["summary_json"]["data"][()]
    summary = loads_lossless(raw.decode() if isinstance(raw, bytes) else str(raw))
    columns = summary["columns"]
    data = {c: entry["table"][nexus_name(c)][()] for c in columns}
    units = {c: entry["table"][nexus_name(c)].attrs.get("units", "") for c in columns}
    units = {c: u.decode() if isinstance(u, bytes) else str(u) for c, u in units.items()}
    return OperandoTable(summary["coordinate"], data[columns[0]], summary["elements"],
                         columns, data, units, synthetic=bool(summary.get("synthetic")))


def operando_figure(table: OperandoTable, *, title: str | None = None):
    """Oxidation state and TM-O / TM-TM distances of each element against the coordinate.

    Returns
    -------
    matplotlib.figure.Figure
        One panel per quantity present; error bars on the oxidation state; apparent
        distances say so in the axis label; ``SYNTHETIC`` in the title for demo data.
    """
    from naheo_spec.plot.figure import NotebookFigure as Figure

    panels = [("oxidation_state", "oxidation state"), ("TM_O", "TM-O distance (Å)"),
              ("TM_TM", "TM-TM distance (Å)")]
    present = []
    for key, label in panels:
        cols = [c for c in table.columns if any(c == f"{el}_{key}" or c.startswith(f"{el}_{key}_")
                                                for el in table.elements)
                and not c.endswith("_err")]
        if cols:
            present.append((key, label, "apparent" in " ".join(cols)))
    fig = Figure(figsize=(4.2 * max(1, len(present)), 3.4), layout="constrained")
    axes = fig.subplots(1, max(1, len(present)), squeeze=False)[0]
    markers = {"Mn": "o", "Fe": "s", "Ni": "^", "Co": "D"}
    for ax, (key, label, apparent) in zip(axes, present):
        for el in table.elements:
            col = next((c for c in table.columns if c == f"{el}_{key}"
                        or (c.startswith(f"{el}_{key}_") and not c.endswith("_err"))), None)
            if col is None:
                continue
            y = table.data[col]
            ok = np.isfinite(y)
            if not ok.any():
                continue
            err = table.data.get(f"{el}_{key}_err") if key == "oxidation_state" else None
            ax.errorbar(table.x[ok], y[ok], yerr=None if err is None else err[ok],
                        marker=markers.get(el, "o"), capsize=3, label=el)
        ax.set_xlabel(table.coordinate.replace("_", " "))
        ax.set_ylabel(label.replace(" (Å)", ", apparent (Å)") if apparent else label)
        if apparent:
            ax.set_title("FT peak, not phase corrected", fontsize=8)
        ax.legend(frameon=False)
    head = title or f"per element vs {table.coordinate.replace('_', ' ')}"
    if table.synthetic:
        head = "SYNTHETIC data - " + head
    fig.suptitle(head)
    return fig
