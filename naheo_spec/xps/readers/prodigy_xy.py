"""SPECS SpecsLab Prodigy ``.xy`` exports.

A Prodigy export is a sequence of ``# Group:`` / ``# Region:`` sections, each with ``#``
metadata (``Excitation Energy``, ``Pass Energy``, ``Dwell Time``, ``Eff. Workfunction``,
``Energy Axis`` of the export settings...), then per cycle and scan a data block preceded
by ``# Cycle: c, Curve: k, Scan: s``. With "Separate Scan Data: yes" each region appears
once per scan: the scans of one (group, region, cycle) are averaged (counts/s) into one
block, with ``n_scans`` recorded. A region measured in several cycles gives one block per
cycle (``"... cycle 2"``). Kinetic-energy exports are converted with the stored excitation
energy.

References
----------
SPECS GmbH, SpecsLab Prodigy manual, "XY serializer"; example files from
FAIRmat-NFDI/pynxtools-xps (``examples/specs/xy``).
"""
from __future__ import annotations

import re

import numpy as np

from naheo_spec.errors import ReadError
from naheo_spec.io.registry import FormatSpec
from naheo_spec.model import AxisKind, SpectrumCollection

__all__ = ["FORMAT", "read_prodigy_xy"]

_KV = re.compile(r"^#\s*([^:]+?):\s*(.*)$")
_CURVE = re.compile(r"^#\s*Cycle:\s*(\d+),\s*Curve:\s*(\d+)(?:,\s*Scan:\s*(\d+))?")


def _sections(lines: list[str], path: str):
    """Yield (settings, group, region metadata, cycle, scan, x, y, first line) per curve."""
    settings: dict[str, str] = {}
    group = None
    region: dict[str, str] = {}
    cur = None
    rows: list[tuple[float, float]] = []
    first = 0

    def flush():
        if cur is not None and rows:
            a = np.array(rows)
            return (dict(settings), group, dict(region), cur[0], cur[1], a[:, 0], a[:, 1], first)
        return None

    in_settings = True
    for i, raw in enumerate(lines):
        s = raw.strip()
        if not s:
            continue
        if s.startswith("#"):
            m = _CURVE.match(s)
            if m:
                out = flush()
                if out:
                    yield out
                cur, rows, first = (int(m.group(1)), int(m.group(3) or 0)), [], i + 2
                continue
            kv = _KV.match(s)
            if kv:
                key, val = kv.group(1).strip(), kv.group(2).strip()
                if key == "Group":
                    out = flush()
                    if out:
                        yield out
                    cur, rows, in_settings, group = None, [], False, val
                elif key == "Region":
                    out = flush()
                    if out:
                        yield out
                    cur, rows, in_settings, region = None, [], False, {"Region": val}
                elif in_settings:
                    settings[key] = val
                elif cur is None:
                    region[key] = val
            continue
        if cur is None:
            raise ReadError(path, "numbers before any '# Cycle: .., Curve: ..' line: not a "
                                  "Prodigy .xy export", line=i + 1)
        toks = s.split()
        try:
            rows.append((float(toks[0]), float(toks[1])))
        except (ValueError, IndexError):
            raise ReadError(path, f"expected two numbers (energy, counts/s), got {s[:40]!r}",
                            line=i + 1) from None
    out = flush()
    if out:
        yield out


def read_prodigy_xy(probe, *, photon_energy: float | None = None) -> SpectrumCollection:
    """Read a Prodigy ``.xy`` export: one block per (group, region, cycle), scans averaged.

    Parameters
    ----------
    probe : Probe
        The file.
    photon_energy : float, optional
        Overrides ``# Excitation Energy`` (eV). Default None: the file's value.

    Returns
    -------
    SpectrumCollection
    """
    from naheo_spec.xps.spectra import build_xps_spectrum, region_name, unique_block_names

    path = probe.path
    grouped: dict[tuple, dict] = {}
    order: list[tuple] = []
    region_seq = 0
    last_key = None
    for settings, group, region, cycle, scan, x, y, first in _sections(
            probe.text.splitlines(), path):
        ident = (group, region.get("Region"), region.get("Spectrum ID"))
        if ident != last_key:
            region_seq += 1
            last_key = ident
        key = (region_seq, cycle)
        if key not in grouped:
            grouped[key] = {"settings": settings, "group": group, "region": region,
                            "cycle": cycle, "x": x, "ys": [], "line": first}
            order.append(key)
        g = grouped[key]
        if x.size != g["x"].size or not np.allclose(x, g["x"]):
            raise ReadError(path, f"scan {scan} of region {region.get('Region')!r} has a "
                                  "different energy axis from the first scan", line=first)
        g["ys"].append(y)
    if not order:
        raise ReadError(path, "no data blocks found in the Prodigy .xy export")
    cycles_per_region: dict[int, int] = {}
    for seq, _ in order:
        cycles_per_region[seq] = cycles_per_region.get(seq, 0) + 1
    names, items = [], []
    for key in order:
        g = grouped[key]
        reg = region_name(g["region"].get("Region"))
        name = f"{g['group']} {reg}".strip() if g["group"] else reg
        if cycles_per_region[key[0]] > 1:
            name += f" cycle {g['cycle']}"
        names.append(name)
        items.append((g, reg))
    names = unique_block_names(names)
    spectra = []
    all_regions = [r for _, r in items]
    for name, (g, reg) in zip(names, items):
        st, md = g["settings"], g["region"]
        axis_word = st.get("Energy Axis", "Binding Energy").lower()
        kind = AxisKind.KINETIC_ENERGY if "kinetic" in axis_word else AxisKind.BINDING_ENERGY
        unit = "counts/s" if "second" in st.get("Count Rate", "Counts per Second").lower() \
            else "counts"
        y = np.mean(np.vstack(g["ys"]), axis=0)
        meta = {k.lower().replace(" ", "_").replace(".", ""): v for k, v in md.items()}
        meta.update(group=g["group"], cycle=g["cycle"], scans_averaged=len(g["ys"]))
        header = "\n".join(f"# {k}: {v}" for k, v in {**st, **md}.items())
        aliases = [reg] if all_regions.count(reg) == 1 else []
        spectra.append(build_xps_spectrum(
            path=path, sha256=probe.sha256, fmt="prodigy-xy", name=name,
            axis=g["x"], signal=y, axis_kind=kind, photon_energy=md.get("Excitation Energy"),
            work_function=md.get("Eff. Workfunction"), sample=g["group"], region=reg,
            intensity_unit=unit, pass_energy=md.get("Pass Energy"), dwell=md.get("Dwell Time"),
            n_scans=len(g["ys"]), source_label=md.get("Source"),
            analyser_mode=md.get("Scan Mode"), metadata=meta, header=header, aliases=aliases,
            columns={"axis": "energy", "signal": "counts/s"},
            photon_energy_given=photon_energy))
    return SpectrumCollection(spectra, path=path, format="prodigy-xy")


def _sniff(probe) -> float:
    head = probe.head_text or ""
    if "SpecsLab Prodigy" in head[:400] and "# Region:" in head:
        return 0.95
    if "XY-Serializer" in head and "# Cycle:" in head:
        return 0.9
    return 0.0


FORMAT = FormatSpec(name="prodigy-xy", technique="xps",
                    description="SPECS SpecsLab Prodigy .xy export: one block per group, region "
                                "and cycle, scans averaged (counts/s)",
                    sniff=_sniff, read=read_prodigy_xy, extensions=("xy",),
                    options=("photon_energy",), aliases=("specs-xy", "prodigy"))
