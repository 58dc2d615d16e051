"""Built-in component models: ``ni2p``, ``mn2p``, ``fe2p``, ``cu2p``, ``o1s``, ``c1s``, ``na1s``.

Valence models (``ni2p``, ``mn2p``, ``fe2p``, ``cu2p``) are sums of rigid state envelopes.
Each envelope's *shape* (GL(30) peaks: offsets, widths, area fractions) is a template in
``reference_spectra/xps/templates/`` derived from a named real reference spectrum by
``tools/derive_xps_templates.py`` (the multiplet tables of Biesinger 2011 / Grosvenor 2006
could not be read in machine-readable form). The *positions* of the states relative to each
other come from the literature (``reference_spectra/xps/binding_energies.toml``, NIST SRD-20
medians, Grosvenor 2006), so a fit of the reference spectra themselves is self-consistency;
the alternative templates (:func:`template_variants`) feed the template-choice term of the
error budget.

Free parameters per model: one common position (the first state's envelope maximum,
within ``shift_window_eV`` of its literature value), and per state one width scale
(0.8-1.3x the template) and one area. Ni3+ has no real reference here: its envelope is
the NiO envelope moved by +1.4 eV (NIST medians NiOOH - NiO); the variants move it by
1.0/1.8 eV and drop NiO's non-local-screening shoulder from it, and weaken that shoulder
in Ni2+ (diluted Ni-O-Ni links in a Mn-rich layered oxide), so a Ni3+ fraction carries the
template-choice spread and a warning that it rests on binding energy.

Auger overlaps under Al Ka: ``mn2p`` with Ni present adds the Ni LMM envelope (template
from the measured EX491 NiO Ni LMM block) at its kinetic energy converted with the
photon energy; other overlaps from ``reference_spectra/xps/auger.toml`` are flagged.
"""
from __future__ import annotations

import re
import tomllib
from functools import lru_cache

import numpy as np

from naheo_spec.diagnostics import WarningCode, WarningRecord
from naheo_spec.errors import InputError, QualityWarning
from naheo_spec.resources import reference_file
from naheo_spec.xps.lineshapes import parse_lineshape
from naheo_spec.xps.models import Component, Model, Param

__all__ = ["BUILTIN_MODELS", "builtin_model", "template_variants", "load_template",
           "signal_digest", "template_floor",
           "reference_table", "oxidation_number", "auger_overlaps", "AUGER_OVERLAP",
           "AL_KA_EV"]

BUILTIN_MODELS = ("ni2p", "mn2p", "fe2p", "cu2p", "o1s", "c1s", "na1s")
AL_KA_EV = 1486.6

AUGER_OVERLAP = WarningCode(
    "xps.auger.overlap", QualityWarning,
    "An Auger line of an element present lies in the fitted window (under this photon "
    "energy) and is not modelled: the fitted areas there are biased.")


@lru_cache(maxsize=None)
def reference_table(name: str) -> dict:
    """A TOML table of ``reference_spectra/xps/`` (``"binding_energies"``, ``"sensitivity"``,
    ``"auger"``), parsed once.

    Examples
    --------
    >>> reference_table("binding_energies")["charge_reference"]["adventitious_c1s_eV"]
    284.8
    """
    return tomllib.loads(reference_file("xps", f"{name}.toml").read_text(encoding="utf-8"))


@lru_cache(maxsize=None)
def load_template(name: str) -> dict:
    """A derived state template (``"NiO"``, ``"MnO2"``...) from
    ``reference_spectra/xps/templates``.

    Raises
    ------
    InputError
        Unknown template (lists the known ones).
    """
    path = reference_file("xps", "templates", f"{name}.toml")
    if not path.is_file():
        known = sorted(p.stem for p in path.parent.glob("*.toml"))
        raise InputError(f"no XPS template {name!r}; known: {', '.join(known)}",
                         parameter="model")
    return tomllib.loads(path.read_text(encoding="utf-8"))


def signal_digest(signal) -> str:
    """SHA-256 of a block's intensities (float64, in axis order): the same measurement gives
    the same digest in every file that holds it (the NiO Ni 2p of three shared files).

    Examples
    --------
    >>> signal_digest([1.0, 2.0])[:12]
    'dc91ce9a50dd'
    """
    import hashlib

    return hashlib.sha256(np.ascontiguousarray(signal, dtype="<f8").tobytes()).hexdigest()


_STATE = re.compile(r"^[A-Z][a-z]?(\d*(?:\.\d+)?)([+-])$")


def oxidation_number(state: str) -> float:
    """Formal oxidation number of a state label (``"Ni3+"`` -> 3, ``"Cu+"`` -> 1, ``"Ni0"`` -> 0;
    a mixed-valence reference such as Fe3O4 may be labelled ``"Fe2.667+"``).

    Raises
    ------
    InputError
        A label without a charge (``"lattice"``).

    Examples
    --------
    >>> oxidation_number("Mn4+"), oxidation_number("Cu+"), oxidation_number("Ni0")
    (4.0, 1.0, 0.0)
    >>> oxidation_number("Fe2.667+")
    2.667
    """
    s = str(state).strip()
    if re.match(r"^[A-Z][a-z]?0$", s):
        return 0.0
    m = _STATE.match(s)
    if not m:
        raise InputError(f"state {state!r} has no oxidation number (expected e.g. 'Ni2+')",
                         parameter="state")
    n = float(m.group(1) or 1)
    return n if m.group(2) == "+" else -n


def _envelope(template: dict, state: str, prefix: str, position: Param, *,
              width_bounds=(0.8, 1.3), drop_offsets=(), scale_offsets=None,
              source: str = "", role: str = "peak", width_link: tuple | None = None
              ) -> list[Component]:
    """Rigid state envelope: the first (largest) peak carries the free width and area;
    the others are linked to it. ``position`` is the envelope's raw maximum."""
    shape = parse_lineshape(template.get("lineshape", "GL(30)"))
    ref = template["raw_maximum_eV"] - template["anchor_eV"]     # raw max relative to anchor
    peaks = [p for p in template["peak"]
             if not any(lo <= p["offset_eV"] <= hi for lo, hi in drop_offsets)]
    if scale_offsets:
        lo, hi, f = scale_offsets
        peaks = [dict(p, area_fraction=p["area_fraction"] * (f if lo <= p["offset_eV"] <= hi
                                                             else 1.0)) for p in peaks]
    tot = sum(p["area_fraction"] for p in peaks)
    main = max(range(len(peaks)), key=lambda i: peaks[i]["area_fraction"])
    m = peaks[main]
    src = source or (f"template {template['name']} from {template['source_file']} "
                     f"[{template['source_block']}]")
    comps: list = [None]      # the main peak goes first; filled below
    for i, p in enumerate(peaks):
        name = f"{prefix} {i}"
        if i == main:
            continue
        comps.append(Component(name, shape, Param(link=f"{prefix} {main}",
                                                  factor=p["offset_eV"] - m["offset_eV"]),
                               Param(link=f"{prefix} {main}", factor=p["fwhm_eV"] / m["fwhm_eV"]),
                               Param(link=f"{prefix} {main}",
                                     factor=p["area_fraction"] / m["area_fraction"]),
                               state=state, group=prefix, role=role, source=src))
    off = m["offset_eV"] - ref
    if position.is_link:
        center = Param(link=position.link, factor=position.factor + off)
    else:
        center = Param(position.value + off, position.min + off, position.max + off,
                       position.vary)
    if width_link is not None:
        fw = Param(link=width_link[0], factor=m["fwhm_eV"] / width_link[1])
    else:
        fw = Param(m["fwhm_eV"], width_bounds[0] * m["fwhm_eV"], width_bounds[1] * m["fwhm_eV"])
    comps[0] = Component(f"{prefix} {main}", shape, center, fw,
                         Param(m["area_fraction"] / tot, 0.0), state=state, group=prefix,
                         role=role, source=src)
    return comps


def _valence_model(name, region, window, states, *, background="shirley", extra=(),
                   shift_window_eV=1.5, metadata=None, window_search=None) -> Model:
    """``states``: list of (state, template name, literature position of its envelope
    maximum, kwargs for :func:`_envelope`). The first state's maximum is free within
    ``shift_window_eV``; the others follow at their literature offsets from it."""
    comps: list[Component] = []
    lead = None
    lead_off = 0.0
    first_pos = states[0][2]
    for state, tname, pos, kw in states:
        t = load_template(tname)
        if lead is None:
            position = Param(pos, pos - shift_window_eV, pos + shift_window_eV)
        else:
            # lead's center = first maximum + lead_off, so this maximum = lead - lead_off + d
            position = Param(link=lead, factor=(pos - first_pos) - lead_off)
        if lead is not None:
            # one width scale for all states: the instrument broadens them alike, and the
            # narrower MnO2 (or Ni3+) envelope is what tells the states apart
            kw = dict(kw, width_link=(lead, lead_fwhm))
        env = _envelope(t, state, state, position, **kw)
        if lead is None:
            lead = env[0].name
            lead_off = env[0].center.value - pos
            lead_fwhm = env[0].fwhm.value
        comps.extend(env)
    comps.extend(extra)
    meta = dict(metadata or {})
    if window_search is not None:
        meta["window_high_search_eV"] = list(window_search)
    srcs = []
    for state, tname, _pos, _kw in states:
        t = load_template(tname)
        srcs.append({"template": tname, "state": state, "file": t["source_file"],
                     "block": t["source_block"], "sha256": t["source_sha256"],
                     "signal_sha256": t.get("source_signal_sha256")})
    meta["template_sources"] = srcs
    return Model(name, tuple(comps), region=region, window_eV=window, background=background,
                 element=region.split()[0], metadata=meta)


def _be(section: str, key: str) -> float:
    return float(reference_table("binding_energies")[section][key])


def builtin_model(name: str, *, variant: str = "default", elements=(),
                  photon_energy_eV: float | None = None, shift_window_eV: float = 1.5,
                  metal: bool = False, charge_shift_eV: float = 0.0) -> Model:
    """A built-in model by name (see module doc).

    Parameters
    ----------
    name : str
        One of :data:`BUILTIN_MODELS`.
    variant : str
        ``"default"`` or one of :func:`template_variants` (for the error budget).
    elements : iterable of str
        Elements present in the sample (``"Ni"`` adds the Ni LMM Auger envelope to
        ``mn2p`` under Al Ka, and makes its default background the active Shirley).
    photon_energy_eV : float, optional
        Photon energy (eV); default Al Ka 1486.6 eV.
    shift_window_eV : float
        How far (eV) the first state's envelope maximum may move from its literature
        value: covers charge-reference error and host (chemical) shifts. Default 1.5.
    metal : bool
        ``ni2p`` only: add the Ni0 envelope (Ni metal template). Default False.
    charge_shift_eV : float
        Charge-reference shift (eV) added to the binding-energy axis the model will be
        fitted on. Auger lines are fixed in kinetic energy and charge like the
        photoelectrons, so on that axis they sit at ``hv - KE + charge_shift_eV``.
        Default 0 (axis as measured).

    Returns
    -------
    Model

    Raises
    ------
    InputError
        Unknown model or variant.

    Examples
    --------
    >>> m = builtin_model("ni2p")
    >>> m.states, m.window_eV
    (('Ni2+', 'Ni3+'), (848.0, 868.5))
    """
    if name not in BUILTIN_MODELS:
        raise InputError(f"model {name!r} is not built in; expected one of "
                         f"{', '.join(BUILTIN_MODELS)}, 'casa' or a MODEL.toml file",
                         parameter="model")
    variants = template_variants(name)
    if variant not in variants:
        raise InputError(f"model {name!r} has no variant {variant!r}; known: "
                         f"{', '.join(variants)}", parameter="variant")
    hv = AL_KA_EV if photon_energy_eV is None else float(photon_energy_eV)
    meta = {"variant": variant, "photon_energy_eV": hv, "shift_window_eV": shift_window_eV}
    if name == "ni2p":
        return _ni2p(variant, shift_window_eV, metal, meta)
    if name == "mn2p":
        return _mn2p(variant, shift_window_eV, elements, hv, meta, charge_shift_eV)
    if name == "fe2p":
        fe2 = _be("fe2p", "FeO_median_eV")
        fe3 = _be("fe2p", "Fe2O3_median_eV")
        if variant == "measured-offsets":
            fe3 = fe2 + (load_template("Fe2O3")["raw_maximum_eV"]
                         - load_template("FeO")["raw_maximum_eV"])
        # leave-one-out of template sources: the same samples acquired again (EX502)
        t2, t3 = ("FeO_EX502", "Fe2O3_EX502") if variant == "repeat-source" else ("FeO", "Fe2O3")
        return _valence_model("fe2p", "Fe 2p", (704.0, 719.5),
                              [("Fe2+", t2, fe2, {}), ("Fe3+", t3, fe3, {})],
                              shift_window_eV=shift_window_eV, metadata=meta,
                              window_search=(717.0, 722.0))
    if name == "cu2p":
        cu1 = _be("cu2p", "Cu2O_median_eV")
        cu2 = _be("cu2p", "CuO_median_eV")
        if variant == "measured-offsets":
            cu2 = cu1 + (load_template("CuO")["raw_maximum_eV"]
                         - load_template("Cu2O")["raw_maximum_eV"])
        return _valence_model("cu2p", "Cu 2p", (927.0, 948.0),
                              [("Cu+", "Cu2O", cu1, {}), ("Cu2+", "CuO", cu2, {})],
                              shift_window_eV=shift_window_eV, metadata=meta,
                              window_search=(945.0, 950.0))
    if name == "o1s":
        return _o1s(meta)
    if name == "c1s":
        return _c1s(meta)
    return _na1s(meta)


def template_floor(name: str) -> dict | None:
    """Documented minimum of the template-choice term of a built-in model (for fits of a
    spectrum that is itself a template source), from
    ``reference_spectra/xps/template_floor.toml`` (``tools/xps_template_floor.py``); None
    when not measured.

    Examples
    --------
    >>> f = template_floor("mn2p")
    >>> sorted(f)
    ['fraction', 'mean_oxidation_state', 'source']
    """
    try:
        tab = reference_table("template_floor")
    except (OSError, InputError):
        return None
    sec = tab.get(name)
    if not sec:
        return None
    return {"fraction": float(sec["fraction"]),
            "mean_oxidation_state": float(sec["mean_oxidation_state"]),
            "source": "reference_spectra/xps/template_floor.toml (median template term over "
                      "mixtures of the real reference spectra; tools/xps_template_floor.py)"}


def template_variants(name: str) -> tuple[str, ...]:
    """Variants of a built-in model used for the template-choice error term.

    Examples
    --------
    >>> template_variants("ni2p")
    ('default', 'ni3-shift-1.0', 'ni3-shift-1.8', 'ni3-no-shoulder', 'ni2-weak-shoulder')
    """
    return {"ni2p": ("default", "ni3-shift-1.0", "ni3-shift-1.8", "ni3-no-shoulder",
                     "ni2-weak-shoulder"),
            "mn2p": ("default", "measured-offsets"),
            "fe2p": ("default", "measured-offsets", "repeat-source"),
            "cu2p": ("default", "measured-offsets")}.get(name, ("default",))


# NiO's non-local-screening shoulder: the template peak(s) between +1.0 and +2.5 eV above
# the main line (derived template NiO.toml: +1.6-1.9 eV).
_NIO_SHOULDER = (1.0, 2.5)


def _ni2p(variant, shift_window, metal, meta) -> Model:
    ni2 = _be("ni2p", "NiO_main_eV")
    d = _be("ni2p", "ni3_minus_ni2_eV")
    d = {"ni3-shift-1.0": d - 0.4, "ni3-shift-1.8": d + 0.4}.get(variant, d)
    t = load_template("NiO")
    ref = t["raw_maximum_eV"] - t["anchor_eV"]
    shoulder = (_NIO_SHOULDER[0] + ref, _NIO_SHOULDER[1] + ref)
    ni2_kw = {"scale_offsets": (*shoulder, 0.5)} if variant == "ni2-weak-shoulder" else {}
    ni3_kw = {"drop_offsets": (shoulder,)} if variant == "ni3-no-shoulder" else {}
    src3 = ("Ni3+: NiO envelope moved by the NIST SRD-20 median difference NiOOH - NiO "
            "(reference_spectra/xps/binding_energies.toml [ni2p]); no real Ni3+ reference")
    ni3_kw["source"] = src3
    states = [("Ni2+", "NiO", ni2, ni2_kw), ("Ni3+", "NiO", ni2 + d, ni3_kw)]
    if metal:
        states.append(("Ni0", "Ni_metal", _be("ni2p", "Ni_metal_median_eV"), {}))
    meta = dict(meta, ni3_offset_eV=d, ni3_rests_on_binding_energy=True)
    return _valence_model("ni2p", "Ni 2p", (848.0, 868.5), states,
                          shift_window_eV=shift_window, metadata=meta,
                          window_search=(866.5, 870.0))


def _mn2p(variant, shift_window, elements, hv, meta, charge_shift_eV=0.0) -> Model:
    pos = {"Mn2+": _be("mn2p", "MnO_median_eV"), "Mn3+": _be("mn2p", "Mn2O3_median_eV"),
           "Mn4+": _be("mn2p", "MnO2_median_eV")}
    if variant == "measured-offsets":
        raw = {s: load_template(t)["raw_maximum_eV"] for s, t in
               (("Mn2+", "MnO"), ("Mn3+", "Mn2O3"), ("Mn4+", "MnO2"))}
        pos = {s: pos["Mn2+"] + raw[s] - raw["Mn2+"] for s in pos}
    extra = []
    if "Ni" in set(elements):
        line = next(ln for ln in reference_table("auger")["line"]
                    if ln["name"].startswith("Ni LMM (L3M45M45"))
        apparent = hv - float(line["kinetic_energy_eV"]) + float(charge_shift_eV)
        t = load_template("NiO_LMM")
        extra = _envelope(t, None, "Ni LMM", Param(apparent, apparent - 0.5, apparent + 0.5),
                          width_bounds=(0.9, 1.1), role="auger",
                          source=f"Ni LMM Auger: template NiO_LMM ({t['source_file']} "
                                 f"[{t['source_block']}]) at KE {line['kinetic_energy_eV']} eV")
    meta = dict(meta, auger_modelled=bool(extra))
    # With the Ni LMM modelled the background is the active Shirley (computed on the fitted
    # peaks, the Auger included): the broad Auger reaches both window ends, so a static
    # Shirley on the data takes it for background. Real Mn2O3 + real NiO Ni LMM at the
    # target cathode's strength (0.4 of the Mn 2p3/2 area, tests/xps/test_physics.py):
    # static 2.98 +- 1.44 (chi2r 30, Auger recovered 0.26x), active 2.99 +- 0.07 (chi2r 6.8,
    # 1.24x).
    if extra:
        meta["background_reason"] = ("active Shirley: the Ni LMM envelope reaches both window "
                                     "ends, where a static Shirley assumes pure background")
    return _valence_model("mn2p", "Mn 2p", (635.5, 650.0),
                          [("Mn2+", "MnO", pos["Mn2+"], {}), ("Mn3+", "Mn2O3", pos["Mn3+"], {}),
                           ("Mn4+", "MnO2", pos["Mn4+"], {})],
                          background="active-shirley" if extra else "shirley",
                          extra=extra, shift_window_eV=shift_window, metadata=meta,
                          window_search=(647.0, 651.5))


def _peak(name, center, lo, hi, fwhm=(1.4, 0.8, 2.5), *, state=None, role="peak", source="",
          shape="GL(30)"):
    return Component(name, parse_lineshape(shape), Param(center, lo, hi),
                     Param(*fwhm), Param(1.0, 0.0), state=state, role=role, source=source)


def _o1s(meta) -> Model:
    t = reference_table("binding_energies")["o1s"]
    lat = float(t["lattice_eV"])
    carb = float(np.mean(t["carbonate_eV"]))
    src = t["source"]
    comps = (_peak("lattice O", lat, lat - 1.0, lat + 1.0, role="lattice", source=src),
             _peak("carbonate/hydroxide O", carb, carb - 1.0, carb + 1.0, (1.6, 0.8, 3.0),
                   role="surface", source=src))
    return Model("o1s", comps, region="O 1s", window_eV=(526.0, 536.0), element="O",
                 metadata=meta)


def _c1s(meta) -> Model:
    t = reference_table("binding_energies")["c1s"]
    cc = _be("charge_reference", "adventitious_c1s_eV")
    src = t["offsets_source"]
    esrc = t["electrode_source"]
    comps = [
        _peak("C-C adventitious", cc, cc - 2.0, cc + 2.0, role="adventitious",
              source="adventitious C-C/C-H, the charge reference line"),
        Component("C-O", parse_lineshape("GL(30)"),
                  Param(link="C-C adventitious", factor=float(t["c_o_offset_eV"])),
                  Param(link="C-C adventitious", factor=1.0), Param(0.2, 0.0),
                  role="adventitious", source=src),
        Component("O-C=O", parse_lineshape("GL(30)"),
                  Param(link="C-C adventitious", factor=float(np.mean(t["o_c_eq_o_offset_eV"]))),
                  Param(link="C-C adventitious", factor=1.0), Param(0.1, 0.0),
                  role="adventitious", source=src),
        Component("sp2 carbon black", parse_lineshape("GL(30)"),
                  Param(link="C-C adventitious", factor=float(t["sp2_carbon_black_eV"]) - cc),
                  Param(1.0, 0.5, 2.0), Param(0.1, 0.0), role="electrode", source=esrc),
        Component("PVDF CH2", parse_lineshape("GL(30)"),
                  Param(link="C-C adventitious", factor=float(t["pvdf_ch2_eV"]) - cc),
                  Param(1.2, 0.6, 2.2), Param(0.05, 0.0), role="electrode", source=esrc),
        Component("PVDF CF2", parse_lineshape("GL(30)"),
                  Param(link="C-C adventitious", factor=float(t["pvdf_cf2_eV"]) - cc),
                  Param(link="PVDF CH2", factor=1.0), Param(link="PVDF CH2", factor=1.0),
                  role="electrode", source=esrc + "; CF2:CH2 = 1:1 in PVDF (CH2-CF2)n"),
        Component("carbonate", parse_lineshape("GL(30)"),
                  Param(link="C-C adventitious",
                        factor=float(np.mean([t["na2co3_eV"], t["li2co3_eV"]])) - cc),
                  Param(1.3, 0.7, 2.5), Param(0.05, 0.0), role="carbonate",
                  source=t["carbonate_source"]),
    ]
    return Model("c1s", tuple(comps), region="C 1s", window_eV=(280.5, 294.5), element="C",
                 metadata=meta)


def _na1s(meta) -> Model:
    t = reference_table("binding_energies")["na1s"]
    mid = float(np.mean([t["Na2CO3_eV"], t["NaOH_eV"], t["Na2O_eV"]]))
    comps = (_peak("Na 1s", mid, mid - 2.5, mid + 2.5, (1.6, 0.8, 3.5), role="sodium",
                   source=t["source"]),)
    return Model("na1s", comps, region="Na 1s", window_eV=(1066.0, 1078.0), element="Na",
                 metadata=meta)


def auger_overlaps(region_window, elements, photon_energy_eV: float,
                   modelled=()) -> list[WarningRecord]:
    """Coded records for Auger lines of ``elements`` that fall in ``region_window`` (BE eV)
    at this photon energy and are not among ``modelled`` element symbols.

    Examples
    --------
    >>> recs = auger_overlaps((848.0, 868.5), {"Mn", "Ni"}, 1486.6)
    >>> [r.code for r in recs]
    ['xps.auger.overlap']
    >>> auger_overlaps((848.0, 868.5), {"Mn"}, 1253.6)   # Mg Ka moves it 233 eV down
    []
    """
    lo, hi = sorted(region_window)
    out = []
    for line in reference_table("auger")["line"]:
        if line["element"] not in set(elements) or line["element"] in set(modelled):
            continue
        be = photon_energy_eV - float(line["kinetic_energy_eV"])
        w = float(line.get("width_eV", 5.0))
        if be + w >= lo and be - w <= hi:
            tag = "measured" if line.get("measured") else "approximate position"
            out.append(AUGER_OVERLAP.warn(
                f"{line['name']} at apparent BE {be:.1f} eV (KE {line['kinetic_energy_eV']} eV, "
                f"{tag}) overlaps the {lo:.1f}-{hi:.1f} eV window; not modelled",
                line=line["name"], apparent_be_eV=be))
    return out
