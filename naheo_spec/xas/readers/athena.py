"""Athena project files (``.prj``): every μ(E) group as a Spectrum.

The project is parsed by ``larch.io.read_athena(path, do_preedge=False,
do_bkg=False)`` (imported lazily; it reads the gzip or plain perl-style format
and the JSON flavour). On top of larch this reader:

- **applies Athena's energy shift** (``bkg_eshift``) to each group's energy when
  ``apply_eshift`` is True (larch only stores it), records it as
  ``metadata["athena_eshift_eV"]`` and notes it in ``warnings``;
- **pairs each sample with its simultaneous reference.** Athena ties a data group
  and its reference group through ``referencegroup`` (both point at each other);
  the reference is the one whose label starts with ``Ref`` (Athena names it
  ``"  Ref <label>"``, larch ``d_Ref_<label>``). A paired reference becomes
  ``Spectrum.reference`` of its sample (its own eshift applied, interpolated onto
  the sample's energies if the grids differ) and is *not* returned separately. A
  ``Ref`` group without a partner in the project is returned as a spectrum of its
  own (``metadata["athena_is_reference"] = True``). Tied groups of which neither is
  labelled ``Ref`` are both returned as samples, unpaired;
- converts the processing parameters to naheo_spec conventions: Athena's
  ``nnorm`` counts polynomial *coefficients* (3 = quadratic), so
  ``metadata["athena_nnorm_degree"] = nnorm - 1`` (larch/naheo_spec use the degree);
  ``athena_nnorm_coefficients`` keeps the original;
- skips χ(k) groups (no energy axis) with a warning.

``metadata["athena_e0_eV"]`` and the pre/normalisation ranges are as stored by
Athena: E0 on Athena's (eshift-applied) energy scale, ranges relative to E0 in eV.

References
----------
B. Ravel and M. Newville, J. Synchrotron Rad. 12, 537 (2005),
doi:10.1107/S0909049505012719 (Athena); larch ``read_athena``,
https://xraypy.github.io/xraylarch/xafs/
"""
from __future__ import annotations

import contextlib
import io
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from naheo_spec.diagnostics import WarningCode
from naheo_spec.errors import QualityWarning, ReadError, RepairWarning
from naheo_spec.io.registry import FormatSpec
from naheo_spec.model import Spectrum, SpectrumCollection
from naheo_spec.xas.readers.columns import assemble_spectrum

ESHIFT_APPLIED = WarningCode("xas.athena.eshift_applied", RepairWarning,
                             "The group's Athena energy shift (eshift) was added to its energy.")
REFERENCE_INTERPOLATED = WarningCode(
    "xas.athena.reference_interpolated", RepairWarning,
    "A reference group was interpolated onto its sample's energies (different grids/eshifts).")
UNPAIRED_REFERENCE = WarningCode(
    "xas.athena.unpaired_reference", QualityWarning,
    "A 'Ref' group without a partner group is returned as a spectrum of its own.")
GROUP_SKIPPED = WarningCode("xas.athena.group_skipped", QualityWarning,
                            "A group holds no mu(E) (chi(k) or other) and was skipped.")
LARCH_NOTE = WarningCode("xas.athena.larch_note", QualityWarning,
                         "larch printed a note while reading the project (e.g. NaN values).")

_REF_LABEL = re.compile(r"^\s*ref\b", re.I)

# (metadata key, athena section, athena name)
_PARAMS = (
    ("athena_e0_eV", "bkg", "e0"),
    ("athena_pre1_eV", "bkg", "pre1"),
    ("athena_pre2_eV", "bkg", "pre2"),
    ("athena_nor1_eV", "bkg", "nor1"),
    ("athena_nor2_eV", "bkg", "nor2"),
    ("athena_edge_step", "bkg", "step"),
    ("athena_rbkg_A", "bkg", "rbkg"),
    ("athena_bkg_kweight", "bkg", "kw"),
    ("athena_bkg_dk_invA", "bkg", "dk"),
    ("athena_spl1_invA", "bkg", "spl1"),
    ("athena_spl2_invA", "bkg", "spl2"),
    ("athena_clamp1", "bkg", "clamp1"),
    ("athena_clamp2", "bkg", "clamp2"),
    ("athena_fft_kmin_invA", "fft", "kmin"),
    ("athena_fft_kmax_invA", "fft", "kmax"),
    ("athena_fft_dk_invA", "fft", "dk"),
    ("athena_fft_window", "fft", "kwindow"),
    ("athena_recordtype", "top", "recordtype"),
    ("athena_source", "top", "source"),
)


@dataclass
class _Group:
    name: str
    label: str
    gid: str | None
    refid: str | None
    energy: np.ndarray
    mu: np.ndarray
    eshift: float
    element: str | None
    edge: str | None
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def is_ref(self) -> bool:
        return bool(_REF_LABEL.match(self.label))


def _num(value) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if np.isfinite(v) else None


def _text(value) -> str | None:
    if value is None or isinstance(value, (int, float)):
        return None
    s = str(value).strip()
    return s or None


class _Capture(io.StringIO):
    # larch decodes file bytes with sys.stdout.encoding, which is None for a StringIO.
    encoding = "utf-8"


def _load(path: str):
    from naheo_spec.xas.larch_bridge import larch_module

    try:
        read_athena = larch_module("larch.io").read_athena
    except ImportError as exc:  # pragma: no cover - xraylarch is a dependency
        raise ReadError(path, "reading Athena projects needs xraylarch (pip install xraylarch)") from exc
    printed = _Capture()
    try:
        # larch prints notes ("NOTE: nans seen!!") instead of warning; capture them.
        with contextlib.redirect_stdout(printed):
            prj = read_athena(path, do_preedge=False, do_bkg=False)
    except Exception as exc:  # larch raises ValueError, OSError, KeyError, IndexError... on bad input
        raise ReadError(path, f"corrupt or unsupported Athena project ({type(exc).__name__}: {exc})"
                        ) from exc
    notes = [LARCH_NOTE.record(f"{path}: larch: {ln.strip()}")
             for ln in printed.getvalue().splitlines() if ln.strip()]
    return prj, notes


def _params(g) -> dict[str, Any]:
    ap = getattr(g, "athena_params", None)
    sections = {"top": ap, "bkg": getattr(ap, "bkg", None), "fft": getattr(ap, "fft", None)}
    out: dict[str, Any] = {}
    for key, sec, name in _PARAMS:
        raw = getattr(sections[sec], name, None) if sections[sec] is not None else None
        val = _num(raw) if not key.endswith(("_window", "_recordtype", "_source")) else _text(raw)
        if val is not None:
            out[key] = val
    nnorm = _num(getattr(sections["bkg"], "nnorm", None))
    if nnorm is not None:
        out["athena_nnorm_coefficients"] = int(round(nnorm))
        out["athena_nnorm_degree"] = int(round(nnorm)) - 1
    return out


def _group(name: str, g) -> _Group | None:
    if not hasattr(g, "energy") or not hasattr(g, "mu"):
        return None
    ap = getattr(g, "athena_params", None)
    bkg = getattr(ap, "bkg", None)
    fft = getattr(ap, "fft", None)
    label = str(getattr(g, "label", name))
    return _Group(
        name=name, label=label, gid=_text(getattr(ap, "id", None)),
        refid=_text(getattr(ap, "referencegroup", None)),
        energy=np.asarray(g.energy, dtype=float), mu=np.asarray(g.mu, dtype=float),
        eshift=_num(getattr(bkg, "eshift", None)) or 0.0,
        element=_text(getattr(g, "atsym", None)) or _text(getattr(bkg, "z", None)),
        edge=_text(getattr(g, "edge", None)) or _text(getattr(fft, "edge", None)),
        params=_params(g))


def _pair(groups: list[_Group]) -> dict[str, _Group]:
    """Map sample name -> its reference group."""
    by_id = {g.gid: g for g in groups if g.gid}
    pairs: dict[str, _Group] = {}
    for g in groups:
        if g.is_ref or not g.refid:
            continue
        partner = by_id.get(g.refid)
        if partner is not None and partner.is_ref and partner.refid in (g.gid, None):
            pairs[g.name] = partner
    return pairs


def _reference_on(sample: _Group, ref: _Group, apply_eshift: bool, path: str):
    es = sample.energy + (sample.eshift if apply_eshift else 0.0)
    er = ref.energy + (ref.eshift if apply_eshift else 0.0)
    if er.shape == es.shape and np.allclose(er, es, rtol=0, atol=1e-6):
        return ref.mu.copy(), None
    out = np.interp(es, er, ref.mu, left=np.nan, right=np.nan)
    return out, REFERENCE_INTERPOLATED.record(
        f"{path}: reference group {ref.label.strip()!r} interpolated onto the energies of "
        f"{sample.label.strip()!r} (different grids or eshifts)")


def larch_group_name(label: str) -> str:
    """The name larch gives an Athena group (``"NiO.000"`` -> ``"NiO_000"``)."""
    return re.sub(r"[^A-Za-z0-9_]", "_", label.strip())


def _spectrum(path, sha256, g: _Group, ref: _Group | None, apply_eshift: bool) -> Spectrum:
    notes = []
    label = g.label.strip()
    energy = g.energy + (g.eshift if apply_eshift else 0.0)
    if g.eshift and apply_eshift:
        notes.append(ESHIFT_APPLIED.warn(
            f"{path}: Athena eshift {g.eshift:+.4g} eV applied to the energy of group {label!r}",
            stacklevel=4, eshift_eV=float(g.eshift)))
    metadata: dict[str, Any] = {"athena_label": label, "athena_group": g.name,
                                "athena_eshift_eV": float(g.eshift),
                                "athena_eshift_applied": bool(apply_eshift), **g.params}
    columns = {"energy": "athena energy" + (" + eshift" if g.eshift and apply_eshift else ""),
               "mu": f"athena group {label!r}"}
    ref_mu = None
    if ref is not None:
        ref_mu, rec = _reference_on(g, ref, apply_eshift, path)
        if rec:
            notes.append(rec.emit(stacklevel=4))
        columns["reference"] = f"athena group {ref.label.strip()!r}"
        metadata["athena_reference_label"] = ref.label.strip()
        metadata["athena_reference_eshift_eV"] = float(ref.eshift)
    if g.is_ref:
        metadata["athena_is_reference"] = True
        notes.append(UNPAIRED_REFERENCE.warn(
            f"{path}: group {label!r} is a reference without a partner group; returned as a "
            "spectrum of its own", stacklevel=4))
    aliases = tuple(dict.fromkeys(a for a in (g.name, larch_group_name(label)) if a != label))
    return assemble_spectrum(path=path, sha256=sha256, fmt="athena", energy=energy, mu=g.mu,
                             reference=ref_mu, columns=columns, metadata=metadata,
                             element=g.element, edge=g.edge, scan=label, notes=notes,
                             aliases=aliases)


def read_athena_project(probe, *, apply_eshift: bool = True) -> SpectrumCollection:
    """Read every μ(E) group of an Athena project.

    Parameters
    ----------
    probe : Probe
        The ``.prj`` file (gzip or plain text, perl-style or JSON).
    apply_eshift : bool
        Add each group's Athena ``eshift`` to its energy. Default is True.

    Returns
    -------
    SpectrumCollection
        One spectrum per data group, in project order, ``source.scan`` = the Athena label
        (larch's group name is an alias); paired references attached (see the module
        docstring). Notes about the file as a whole (skipped groups, larch's printed notes)
        are the collection's warnings, not the groups'.

    Raises
    ------
    ReadError
        The file cannot be parsed as an Athena project, or holds no μ(E) group.
    """
    path = probe.path
    prj, notes = _load(path)
    for n in notes:
        n.emit(stacklevel=3)
    raw = dict(getattr(prj, "groups", {}) or {})
    groups: list[_Group] = []
    skipped: list[str] = []
    for name, g in raw.items():
        grp = _group(name, g)
        if grp is None:
            skipped.append(str(getattr(g, "label", name)).strip())
        else:
            groups.append(grp)
    for s in skipped:
        notes.append(GROUP_SKIPPED.warn(f"{path}: group {s!r} holds no mu(E) (chi(k) or other); "
                                        "skipped", stacklevel=3))
    if not groups:
        raise ReadError(path, "no mu(E) groups found: corrupt or empty Athena project"
                        + (f" (skipped: {', '.join(skipped)})" if skipped else ""))
    pairs = _pair(groups)
    attached = {r.name for r in pairs.values()}
    blocks = [_spectrum(path, probe.sha256, g, pairs.get(g.name), apply_eshift)
              for g in groups if g.name not in attached]
    return SpectrumCollection(blocks, path=path, format="athena", warnings=notes)


_ATHENA_MARK = "Athena project file"


def sniff_athena(probe) -> float:
    """0.95 for a (gzipped or plain) text file whose head names an Athena project."""
    text = probe.head_text
    if not text:
        return 0.0
    head = text[:600].lstrip("\ufeff \t\r\n")
    first = head.split("\n", 1)[0]
    if (first.startswith("#") and _ATHENA_MARK in first) or \
            (head.startswith("{") and _ATHENA_MARK in head):
        return 0.95
    return 0.0


FORMAT = FormatSpec(name="athena", technique="xas",
                    description="Athena project (.prj, gzip or plain, perl-style or JSON): every "
                                "mu(E) group with its reference, eshift applied",
                    sniff=sniff_athena, read=read_athena_project, extensions=("prj",),
                    options=("apply_eshift",), aliases=("prj",))
