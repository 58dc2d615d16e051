"""Two-column XPS text exports (energy, intensity), binding or kinetic energy.

Claims text files whose header names a core level or an XPS energy axis (``Ni2p NiO``,
``#E_kin, intensity ... hv=180eV``) more confidently than the neutral ``text-xy`` reader,
and adds what XPS needs: the region and sample from a title line (``Ni2p NiO`` -> region
``Ni 2p``, sample ``NiO``), the noise model, and kinetic -> binding energy conversion.

A kinetic-energy file needs ``photon_energy=`` (``--photon-energy``) and optionally
``work_function=`` (BE = hv - KE - phi; default 0): the photon energy is never taken from
free text. When the header mentions one (``hv=180eV``), the error message quotes it.
"""
from __future__ import annotations

import re
from pathlib import Path

from naheo_spec.errors import ReadError
from naheo_spec.io.axis_hints import CORE_LEVEL, infer_axis_kind
from naheo_spec.io.registry import FormatSpec
from naheo_spec.io.text import parse_block, peek_block
from naheo_spec.model import AxisKind, SpectrumCollection

__all__ = ["FORMAT", "read_xps_text"]

_HV = re.compile(r"(?:hv|h\u03bd|photon energy|excitation energy)\s*[=:]\s*([0-9.]+)\s*eV?",
                 re.I)
_TITLE = re.compile(r"^\s*([A-Z][a-z]?)\s*([1-5][spdf](?:[13579]/2)?)\s+(.+?)\s*$")


def _title(header: list[str]) -> tuple[str | None, str | None]:
    for line in header:
        s = line.strip().lstrip("#%!").strip()
        m = _TITLE.match(s)
        if m:
            return f"{m.group(1)} {m.group(2)}", m.group(3)
        m = CORE_LEVEL.search(s)
        if m:
            return f"{m.group(1)} {m.group(2)}", None
    return None, None


def read_xps_text(probe, *, photon_energy: float | None = None,
                  work_function: float | None = None) -> SpectrumCollection:
    """Read a two-column XPS text file.

    Parameters
    ----------
    probe : Probe
        The file.
    photon_energy : float, optional
        Photon energy (eV), required for a kinetic-energy axis.
    work_function : float, optional
        Work function (eV) subtracted for a kinetic-energy axis. Default None: 0.

    Returns
    -------
    SpectrumCollection
        One block named by its sample and region (``"NiO Ni 2p"``), else the file stem.

    Raises
    ------
    ReadError
        No numeric block; a kinetic-energy axis without ``photon_energy``.
    """
    from naheo_spec.xps.spectra import build_xps_spectrum, region_name

    path = probe.path
    block = parse_block(probe.text.splitlines(), path)
    header = "\n".join(block.header)
    guess = infer_axis_kind(block.data[:, 0], header=header, labels=block.labels)
    kind = AxisKind.KINETIC_ENERGY if guess.kind is AxisKind.KINETIC_ENERGY \
        else AxisKind.BINDING_ENERGY
    if kind is AxisKind.KINETIC_ENERGY and photon_energy is None:
        m = _HV.search(header)
        hint = f" (the header mentions {m.group(0).strip()!r}; pass it explicitly)" if m else ""
        raise ReadError(path, "kinetic-energy axis and no photon energy: pass photon_energy= "
                              f"(--photon-energy){hint}")
    region, sample = _title(block.header)
    region = region_name(region)
    stem = Path(path).stem
    name = f"{sample} {region}" if sample and region else (region or stem)
    md = {"axis_kind_reason": guess.reason}
    if kind is AxisKind.KINETIC_ENERGY:
        md["apply_work_function_eV"] = float(work_function or 0.0)
    channels = {f"col{j + 1}": block.data[:, j] for j in range(2, block.data.shape[1])}
    s = build_xps_spectrum(path=path, sha256=probe.sha256, fmt="xps-text", name=name,
                           axis=block.data[:, 0], signal=block.data[:, 1], axis_kind=kind,
                           photon_energy=photon_energy, work_function=work_function,
                           channels=channels, sample=sample, region=region or None,
                           intensity_unit="counts", metadata=md, header=header or None,
                           aliases=[region] if region else [],
                           columns={"axis": "col1", "signal": "col2"})
    return SpectrumCollection([s], path=path, format="xps-text")


def _sniff(probe) -> float:
    peek = peek_block(probe.head_text)
    if peek is None or peek.ncols < 2 or peek.ncols > 4:
        return 0.0
    guess = infer_axis_kind(peek.x, header=peek.header, labels=peek.labels)
    if guess.from_words and guess.kind in (AxisKind.BINDING_ENERGY, AxisKind.KINETIC_ENERGY):
        return 0.5
    return 0.0


FORMAT = FormatSpec(name="xps-text", technique="xps",
                    description="two-column XPS text (BE or KE, title line 'Ni2p NiO'); KE "
                                "needs --photon-energy",
                    sniff=_sniff, read=read_xps_text, extensions=("txt", "csv", "dat"),
                    options=("photon_energy", "work_function"), aliases=("xps-xy",))
