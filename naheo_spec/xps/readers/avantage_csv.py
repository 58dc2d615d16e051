"""Thermo Avantage CSV exports (one region per file).

Layout (MAHE 2024 exports read by the tests): empty comma lines, a line
``Characteristic Energy eV,1486.6,Acquisition Time s,2.5``, a header line whose columns
carry the region and block number (``BE_Na 1s 8``, ``CPS_Na 1s 8``, fitted components such
as ``C 1s (CF)_3_C 1s 3``, ``Background_...``, ``Envelope_...``), then rows in descending
binding energy. The vendor's components, background and envelope are kept as channels
(names without the region suffix) so that they can be compared with a refit. The printed
step (0.125 eV with 2-3 decimals) makes the axis slightly non-uniform; nothing here
assumes a uniform axis.
"""
from __future__ import annotations

import re
from pathlib import Path

from naheo_spec.errors import ReadError
from naheo_spec.io.registry import FormatSpec
from naheo_spec.io.text import parse_block
from naheo_spec.model import AxisKind, SpectrumCollection

__all__ = ["FORMAT", "read_avantage_csv"]

_BE = re.compile(r"^BE_(.+?)\s+(\d+)$")


def _strip_region(label: str, region: str, num: str) -> str:
    suffix = f"_{region} {num}"
    return label[:-len(suffix)] if label.endswith(suffix) else label


def read_avantage_csv(probe, *, photon_energy: float | None = None) -> SpectrumCollection:
    """Read an Avantage CSV export.

    Parameters
    ----------
    probe : Probe
        The file.
    photon_energy : float, optional
        Overrides ``Characteristic Energy eV`` (informative here: the axis is binding energy).

    Returns
    -------
    SpectrumCollection
        One block named by its region (``"Na 1s"``).
    """
    from naheo_spec.xps.spectra import build_xps_spectrum, region_name

    path = probe.path
    lines = probe.text.splitlines()
    meta: dict = {}
    header_idx = None
    for i, line in enumerate(lines[:50]):
        toks = [t.strip() for t in line.split(",")]
        if toks and toks[0].startswith("Characteristic Energy"):
            for k in range(0, len(toks) - 1, 2):
                if toks[k]:
                    meta[toks[k]] = toks[k + 1]
        if toks and _BE.match(toks[0]):
            header_idx = i
            break
    if header_idx is None:
        raise ReadError(path, "no 'BE_<region> <n>' header line: not an Avantage CSV export")
    labels = [t.strip() for t in lines[header_idx].split(",") if t.strip()]
    m = _BE.match(labels[0])
    region, num = m.group(1), m.group(2)
    block = parse_block(lines[header_idx:], path)
    data = block.data
    if data.shape[1] < 2:
        raise ReadError(path, "Avantage CSV without a CPS column", line=header_idx + 2)
    names = [_strip_region(lab, region, num) for lab in labels[:data.shape[1]]]
    channels = {n: data[:, j] for j, n in enumerate(names) if j > 1}
    hv = meta.get("Characteristic Energy eV")
    md = {"avantage_block": int(num), "acquisition_time_s": meta.get("Acquisition Time s"),
          "vendor_columns": " | ".join(names)}
    sample = Path(path).stem
    reg = region_name(region)
    s = build_xps_spectrum(path=path, sha256=probe.sha256, fmt="avantage-csv", name=reg,
                           axis=data[:, 0], signal=data[:, 1], axis_kind=AxisKind.BINDING_ENERGY,
                           photon_energy=hv, channels=channels, sample=sample, region=reg,
                           intensity_unit="counts/s", metadata=md,
                           header="\n".join(lines[:header_idx + 1]),
                           columns={"axis": labels[0], "signal": labels[1]},
                           photon_energy_given=photon_energy)
    return SpectrumCollection([s], path=path, format="avantage-csv")


def _sniff(probe) -> float:
    head = probe.head_text or ""
    if "Characteristic Energy eV" in head and re.search(r"^BE_", head, re.M):
        return 0.95
    return 0.0


FORMAT = FormatSpec(name="avantage-csv", technique="xps",
                    description="Thermo Avantage CSV export (BE, CPS, vendor components, "
                                "background and envelope kept as channels)",
                    sniff=_sniff, read=read_avantage_csv, extensions=("csv",),
                    options=("photon_energy",), aliases=("avantage",))
