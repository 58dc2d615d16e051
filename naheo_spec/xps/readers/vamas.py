"""VAMAS (ISO 14976) files: REGULAR and IRREGULAR, as written by SpecsLab Prodigy, CasaXPS,
Thermo and Kratos software.

What this reader handles (each seen in the real files the tests read):

- lines are split on ``\\n`` only and trailing ``\\r`` stripped, so comment lines ending in
  ``\\r\\r\\n`` (CasaXPS-written EX491/EX502 files) do not shift later fields; LF, CRLF and
  mixed files read alike; blank lines before the header are skipped;
- REGULAR blocks (abscissa start + increment) and IRREGULAR blocks (the abscissa is the
  first corresponding variable);
- several corresponding variables, interleaved per point: the first non-abscissa one is
  the signal, a variable named ``Transmission`` becomes the ``"transmission"`` channel,
  others are kept as channels under their label;
- kinetic energy is converted to binding energy with the block's photon energy
  (``BE = hv - KE``); ``photon_energy=`` supplies or overrides it; placeholder values
  (``1e+037``) and a pass energy of 0 are read as unknown;
- CasaXPS "Lineshapes" blocks (species ``Lineshapes`` or identifiers starting with ``%``)
  are kept, named by their identifier, with ``metadata["casa_lineshape"] = True``: they are
  reference curves for ``CASA comp`` lines, not measurements; CasaXPS ``CASA region`` and
  ``CASA comp`` lines stay in the block header (:mod:`naheo_spec.xps.casa` parses them).

Not supported (clear ReadError): MAP/MAPSV/SEM experiment modes (images and linescans) and
parameter inclusion lists (never seen in XPS files).

Block names are ``"<sample> <block identifier>"`` (``"NiO Ni 2p"``); a block also answers to
its region (``"Ni 2p"``) when that is unique in the file.

References
----------
W. A. Dench, L. B. Hazell, M. P. Seah and the VAMAS Community, "VAMAS surface chemical
analysis standard data transfer format with skeleton decoding programs",
Surf. Interface Anal. 13, 63 (1988), doi:10.1002/sia.740130202; ISO 14976:1998.
"""
from __future__ import annotations

import numpy as np

from naheo_spec.diagnostics import WarningCode
from naheo_spec.errors import QualityWarning, ReadError
from naheo_spec.io.registry import FormatSpec
from naheo_spec.model import AxisKind, SpectrumCollection

__all__ = ["FORMAT", "read_vamas", "parse_vamas"]

TRANSMISSION_ASSUMED = WarningCode(
    "xps.read.transmission_assumed", QualityWarning,
    "A VAMAS block's second corresponding variable has the signal's label; it was read as "
    "the transmission function.")

MAGIC = "VAMAS Surface Chemical Analysis Standard Data Transfer Format"
_MAP_MODES = ("MAP", "MAPDP", "MAPSV", "MAPSVDP", "SEM")
_SPUTTER_MODES = ("MAPDP", "MAPSVDP", "SDP", "SDPSV")
_ION_TECHNIQUES = ("FABMS", "FABMS energy spec", "ISS", "SIMS", "SIMS energy spec", "SNMS",
                   "SNMS energy spec")


class _Lines:
    """Line cursor that names the file and line on every error."""

    def __init__(self, lines: list[str], path: str, start: int = 0):
        self.lines, self.path, self.i = lines, path, start

    def next(self, what: str) -> str:
        if self.i >= len(self.lines):
            raise ReadError(self.path, f"file ends early (truncated?) while reading {what}",
                            line=self.i + 1)
        s = self.lines[self.i]
        self.i += 1
        return s

    def int(self, what: str) -> int:
        s = self.next(what).strip()
        try:
            return int(float(s))
        except ValueError:
            raise ReadError(self.path, f"{what}: expected an integer, got {s!r}",
                            line=self.i) from None

    def float(self, what: str) -> float:
        s = self.next(what).strip()
        try:
            return float(s)
        except ValueError:
            raise ReadError(self.path, f"{what}: expected a number, got {s!r}",
                            line=self.i) from None

    def take(self, n: int, what: str) -> list[str]:
        return [self.next(what) for _ in range(n)]


def _split_lines(text: str) -> list[str]:
    return [s.rstrip("\r") for s in text.split("\n")]


def _parse_header(cur: _Lines) -> dict:
    while cur.i < len(cur.lines) and not cur.lines[cur.i].strip():
        cur.i += 1
    first = cur.next("format identifier")
    if not first.startswith(MAGIC):
        raise ReadError(cur.path, "not a VAMAS file (first line is not the ISO 14976 format "
                                  "identifier)", line=cur.i)
    h = {"institution": cur.next("institution").strip(),
         "instrument": cur.next("instrument model").strip(),
         "operator": cur.next("operator").strip(),
         "experiment": cur.next("experiment").strip()}
    h["comment"] = cur.take(cur.int("number of header comment lines"), "header comment")
    h["exp_mode"] = cur.next("experiment mode").strip()
    h["scan_mode"] = cur.next("scan mode").strip()
    if h["exp_mode"] in _MAP_MODES:
        raise ReadError(cur.path, f"VAMAS experiment mode {h['exp_mode']!r} (maps/images) is not "
                                  "supported; only spectra (NORM, SDP)", line=cur.i - 1)
    if h["scan_mode"] not in ("REGULAR", "IRREGULAR"):
        raise ReadError(cur.path, f"VAMAS scan mode {h['scan_mode']!r} is not supported "
                                  "(REGULAR or IRREGULAR)", line=cur.i)
    if h["exp_mode"] in ("NORM", "SDP", "SDPSV"):
        h["n_regions"] = cur.int("number of spectral regions")
    n_var = cur.int("number of experimental variables")
    h["exp_vars"] = [(cur.next("variable label").strip(), cur.next("variable unit").strip())
                     for _ in range(n_var)]
    n_incl = cur.int("number of entries in the parameter inclusion list")
    if n_incl != 0:
        raise ReadError(cur.path, "VAMAS parameter inclusion/exclusion lists are not supported "
                                  f"({n_incl} entries)", line=cur.i)
    cur.int("number of manually entered items")
    h["n_future_exp"] = cur.int("number of future upgrade experiment entries")
    h["n_future_block"] = cur.int("number of future upgrade block entries")
    cur.take(h["n_future_exp"], "future upgrade experiment entries")
    h["n_blocks"] = cur.int("number of blocks")
    return h


def _parse_block(cur: _Lines, h: dict) -> dict:
    start_line = cur.i + 1
    b: dict = {"identifier": cur.next("block identifier").strip(),
               "sample": cur.next("sample identifier").strip()}
    b["date"] = [cur.next("date/time field").strip() for _ in range(6)]
    cur.next("hours in advance of GMT")
    ncom = cur.int("number of block comment lines")
    b["comment"] = cur.take(ncom, "block comment")
    b["technique"] = cur.next("technique").strip()
    b["exp_values"] = [cur.next("experimental variable value").strip()
                       for _ in h["exp_vars"]]
    b["source_label"] = cur.next("analysis source label").strip()
    if h["exp_mode"] in _SPUTTER_MODES or b["technique"] in _ION_TECHNIQUES:
        cur.take(3, "sputtering ion species")
    b["photon_energy"] = cur.float("analysis source characteristic energy")
    cur.take(3, "analysis source strength and beam widths")
    cur.float("analysis source polar angle of incidence")
    cur.float("analysis source azimuth")
    b["analyser_mode"] = cur.next("analyser mode").strip()
    b["pass_energy"] = cur.float("analyser pass energy")
    if b["technique"] == "AES diff":
        cur.next("differential width")
    cur.next("magnification of analyser transfer lens")
    b["work_function"] = cur.float("analyser work function")
    cur.take(5, "target bias, analysis widths and take-off angles")
    b["species"] = cur.next("species label").strip()
    b["transition"] = cur.next("transition label").strip()
    cur.next("charge of detected particle")
    if h["scan_mode"] == "REGULAR":
        b["abscissa_label"] = cur.next("abscissa label").strip()
        b["abscissa_unit"] = cur.next("abscissa units").strip()
        b["abscissa_start"] = cur.float("abscissa start")
        b["abscissa_step"] = cur.float("abscissa increment")
    n_corr = cur.int("number of corresponding variables")
    if n_corr < 1:
        raise ReadError(cur.path, f"block {b['identifier']!r}: no corresponding variables",
                        line=cur.i)
    b["variables"] = [(cur.next("variable label").strip(), cur.next("variable unit").strip())
                      for _ in range(n_corr)]
    cur.next("signal mode")
    b["dwell"] = cur.float("signal collection time")
    b["n_scans"] = cur.float("number of scans")
    cur.next("signal time correction")
    if h["exp_mode"] in _SPUTTER_MODES:
        cur.take(7, "sputtering source parameters")
    cur.take(3, "sample tilt and rotation")
    n_add = cur.int("number of additional numerical parameters")
    b["additional"] = {}
    for _ in range(n_add):
        label = cur.next("parameter label").strip()
        cur.next("parameter unit")
        b["additional"][label] = cur.next("parameter value").strip()
    cur.take(h["n_future_block"], "future upgrade block entries")
    n_values = cur.int("number of ordinate values")
    cur.take(2 * n_corr, "minimum and maximum ordinates")
    if n_values % n_corr:
        raise ReadError(cur.path, f"block {b['identifier']!r}: {n_values} ordinate values is not "
                                  f"a multiple of the {n_corr} corresponding variables",
                        line=cur.i)
    first = cur.i + 1
    raw = cur.lines[cur.i:cur.i + n_values]
    if len(raw) < n_values:
        raise ReadError(cur.path, f"block {b['identifier']!r} ({b['sample']}) declares "
                                  f"{n_values} values but the file ends after {len(raw)} "
                                  "(truncated file)", line=len(cur.lines))
    try:
        vals = np.array(raw, dtype=float)
    except ValueError:
        for k, s in enumerate(raw):
            try:
                float(s)
            except ValueError:
                raise ReadError(cur.path, f"block {b['identifier']!r}: value {s.strip()!r} is "
                                          "not a number", line=first + k) from None
        raise
    cur.i += n_values
    b["values"] = vals.reshape(-1, n_corr)
    b["header_lines"] = (start_line, first - 1)
    return b


def parse_vamas(text: str, path: str = "") -> tuple[dict, list[dict]]:
    """Parse VAMAS text into the header dict and a list of raw block dicts.

    Raises
    ------
    ReadError
        Not VAMAS, truncated, non-numeric values, unsupported modes (with the line).
    """
    lines = _split_lines(text)
    cur = _Lines(lines, path)
    h = _parse_header(cur)
    blocks = []
    for k in range(h["n_blocks"]):
        try:
            blocks.append(_parse_block(cur, h))
        except ReadError as exc:
            if blocks and "ends early" in exc.problem:
                raise ReadError(path, f"truncated file: block {k + 1} of {h['n_blocks']} is "
                                      f"incomplete ({exc.problem})", line=exc.line) from None
            raise
        b = blocks[-1]
        s, e = b.pop("header_lines")
        b["header"] = "\n".join(lines[s - 1:e])
    return h, blocks


def is_lineshape_block(b: dict) -> bool:
    """CasaXPS stores reference curves for components as blocks whose species is
    ``Lineshapes`` or whose identifier starts with ``%``."""
    return b["species"].lower() == "lineshapes" or b["identifier"].startswith("%")


_GENERIC_IDS = ("", "counts per second", "intensity", "counts")


def _region_of(b: dict) -> str:
    """The block's region: its identifier, unless that is generic or repeats the sample
    name (CasaXPS-written EX files), then species + transition."""
    if is_lineshape_block(b):
        return "Lineshapes"
    ident = b["identifier"]
    if ident.lower() in _GENERIC_IDS or ident == b["sample"]:
        return f"{b['species']} {b['transition']}".strip() or ident
    return ident


def read_vamas(probe, *, photon_energy: float | None = None) -> SpectrumCollection:
    """Read every block of a VAMAS file (see module doc).

    Parameters
    ----------
    probe : Probe
        The file.
    photon_energy : float, optional
        Photon energy (eV) for blocks on a kinetic-energy scale that lack one; when given
        it overrides the stored value. Default None: the block's own.

    Returns
    -------
    SpectrumCollection
    """
    from naheo_spec.xps.spectra import build_xps_spectrum, region_name, unique_block_names

    path = probe.path
    text = probe.data.decode("latin-1")
    h, raw_blocks = parse_vamas(text, path)
    names = []
    for b in raw_blocks:
        region = _region_of(b)
        names.append(b["identifier"] if is_lineshape_block(b)
                     else f"{b['sample']} {region_name(region)}".strip())
    names = unique_block_names(names)
    regions = [region_name(_region_of(b)) for b in raw_blocks]
    spectra = []
    for b, name, region in zip(raw_blocks, names, regions):
        vals = b["values"]
        labels = [v[0] for v in b["variables"]]
        if h["scan_mode"] == "IRREGULAR":
            x, cols, labels, xlabel = vals[:, 0], vals[:, 1:], labels[1:], b["variables"][0][0]
            if not labels:
                raise ReadError(path, f"IRREGULAR block {name!r} has only its abscissa variable")
        else:
            n = vals.shape[0]
            x = b["abscissa_start"] + b["abscissa_step"] * np.arange(n)
            cols, xlabel = vals, b["abscissa_label"]
        kinetic = "kinetic" in xlabel.lower()
        channels, notes = {}, []
        for j, lab in enumerate(labels[1:], start=1):
            key = "transmission" if "transmission" in lab.lower() else lab or f"var{j + 1}"
            if lab == labels[0] and j == 1:
                # Mn_references.vms labels counts and transmission both "Intensity"; the
                # Prodigy/CasaXPS convention is counts first, transmission second.
                key = "transmission"
                notes.append(TRANSMISSION_ASSUMED.record(
                    f"{path}:{name}: the second corresponding variable repeats the label "
                    f"{lab!r}; read as the transmission function (Prodigy/CasaXPS order)"))
            channels[key] = cols[:, j]
        unit = "counts/s" if "per second" in (labels[0] + b["identifier"]).lower() else "counts"
        aliases = [region_name(region)] if region and regions.count(region) == 1 else []
        st = region_name(f"{b['species']} {b['transition']}".strip())
        if st and st != region_name(region) and not is_lineshape_block(b):
            aliases.append(st)
        md = {"vamas_identifier": b["identifier"], "species": b["species"],
              "transition": b["transition"], "technique": b["technique"],
              "date": "-".join(b["date"][:3]) + " " + ":".join(b["date"][3:]),
              "scan_mode": h["scan_mode"], "casa_lineshape": is_lineshape_block(b),
              "signal_variable": labels[0], **{f"vamas_{k}": v for k, v in b["additional"].items()}}
        spectra.append(build_xps_spectrum(
            path=path, sha256=probe.sha256, fmt="vamas", name=name, axis=x, signal=cols[:, 0],
            axis_kind=AxisKind.KINETIC_ENERGY if kinetic else AxisKind.BINDING_ENERGY,
            photon_energy=b["photon_energy"], work_function=b["work_function"],
            channels=channels, sample=b["sample"], region=region, intensity_unit=unit,
            pass_energy=b["pass_energy"] or None, dwell=b["dwell"], n_scans=b["n_scans"],
            source_label=b["source_label"], analyser_mode=b["analyser_mode"], metadata=md,
            header=b["header"], aliases=aliases,
            columns={"axis": xlabel, "signal": labels[0]},
            photon_energy_given=photon_energy, warnings=notes))
    return SpectrumCollection(spectra, path=path, format="vamas")


def _sniff(probe) -> float:
    head = probe.head_text or ""
    return 0.95 if head.lstrip()[:len(MAGIC)] == MAGIC else 0.0


FORMAT = FormatSpec(name="vamas", technique="xps",
                    description="VAMAS ISO 14976 (.vms/.npl), REGULAR and IRREGULAR; kinetic -> "
                                "binding energy with the stored photon energy; transmission "
                                "channel; CasaXPS fits and Lineshapes blocks kept",
                    sniff=_sniff, read=read_vamas, extensions=("vms", "npl"),
                    options=("photon_energy",), aliases=("vms",))
