"""``[xps]`` in a ``naheo-spec batch`` config: fit one region of every XPS file.

A thin adapter over the public XPS functions (the numbers are those of
:func:`naheo_spec.xps.pipeline.analyze_region`, exactly as ``naheo-spec xps`` gives them):
the blocks of ``region`` are selected in each file (:func:`~naheo_spec.xps.pipeline.select_blocks`),
each sample's charge reference is found once in the same file
(:func:`~naheo_spec.xps.charge.charge_reference`) and every block is fitted with ``model``.

Config keys: ``region`` (default ``"Ni 2p"``), ``model`` (a built-in name or a TOML path
relative to the config; default: the built-in of the region), ``background``,
``charge_ref`` (``"c1s"``, ``"o1s"``, ``"none"`` or a shift in eV; default ``"none"``),
``charge_ref_err`` (eV), ``elements`` (list, e.g. ``["Ni", "Mn"]``: Auger overlaps),
``composition`` (formula; its elements are added to ``elements``), ``error_budget``
(default true), ``window`` (``[lo, hi]`` eV).
"""
from __future__ import annotations

from pathlib import Path

from naheo_spec.batch.registry import Column, PipelineSpec, Prepared, ScanOutput
from naheo_spec.errors import InputError

#: Oxidation states of the built-in models, one fraction column each.
_STATES = ("Ni0", "Ni2+", "Ni3+", "Mn2+", "Mn3+", "Mn4+", "Fe2+", "Fe3+", "Cu+", "Cu2+")


def _col(state: str) -> str:
    """``"Ni2+"`` -> ``"fraction_Ni2plus"`` (not ``Ni2p``, which reads as a core level)."""
    if state.endswith("+") and not state[-2].isdigit():
        state = state[:-1] + "1+"
    return "fraction_" + state.replace("+", "plus")


COLUMNS = (
    Column("mean_oxidation_state", "", "mean oxidation state of the region"),
    Column("mean_oxidation_state_err", "", "its uncertainty (fit, background, template, charge)"),
    Column("energy_shift_eV", "eV", "charge-reference shift applied"),
    Column("reduced_chi2", "", "reduced chi-square of the fit"),
    Column("information_depth_nm", "nm", "information depth (3 IMFP, TPP-2M)"),
    *(Column(_col(s), "", f"{s} fraction") for s in _STATES),
    *(Column(_col(s) + "_err", "", f"{s} fraction uncertainty") for s in _STATES),
)

OPTIONS = {
    "region": "core level to fit in every file (default 'Ni 2p')",
    "model": "built-in model (ni2p, mn2p, fe2p, cu2p, o1s, c1s, na1s) or a MODEL.toml path",
    "background": "shirley, active-shirley, tougaard-u2, tougaard-u3, linear, min-limits",
    "charge_ref": "c1s, o1s, none or a shift in eV (default none)",
    "charge_ref_err": "charge-reference uncertainty, eV (default 0.3 for c1s/o1s)",
    "elements": "elements present (list), for Auger overlaps",
    "composition": "sample formula; its elements are added to elements",
    "error_budget": "run the error-budget refits (default true)",
    "window": "fit window [lo, hi] in eV of binding energy",
}

_DEFAULT_MODEL = {"ni 2p": "ni2p", "mn 2p": "mn2p", "fe 2p": "fe2p", "cu 2p": "cu2p",
                  "o 1s": "o1s", "c 1s": "c1s", "na 1s": "na1s"}


def prepare(options: dict, base_dir: Path) -> Prepared:
    """Validate the ``[xps]`` table and resolve its defaults."""
    from naheo_spec.chemistry import parse_formula
    from naheo_spec.xps.charge import parse_charge_ref

    region = str(options.get("region", "Ni 2p"))
    model = options.get("model") or _DEFAULT_MODEL.get(region.strip().lower())
    if model is None:
        raise InputError(f"[xps] no built-in model for region {region!r}; give model = ...")
    model_sha = None
    if str(model).endswith(".toml"):
        path = (Path(base_dir) / model).resolve()
        if not path.is_file():
            raise InputError(f"[xps] model = {model!r}: file not found ({path})")
        from naheo_spec.provenance import file_sha256

        model, model_sha = str(path), file_sha256(path)
    charge = options.get("charge_ref", "none")
    parse_charge_ref(charge)                       # raises on a bad value
    elements = set(options.get("elements", []) or [])
    if options.get("composition"):
        elements |= set(parse_formula(options["composition"]))
    window = options.get("window")
    if window is not None and (len(window) != 2 or not window[0] < window[1]):
        raise InputError(f"[xps] window = {window!r}: expected [lo, hi] in eV with lo < hi")
    params = {"region": region, "model": str(model), "model_sha256": model_sha,
              "background": options.get("background"), "charge_ref": charge,
              "charge_ref_err": options.get("charge_ref_err"),
              "elements": sorted(elements), "error_budget": bool(options.get("error_budget",
                                                                              True)),
              "window": None if window is None else [float(w) for w in window]}
    return Prepared(parameters=params, payload=params)


def scans(collection, prepared: Prepared):
    """The region's blocks, each with its sample's charge reference (found once)."""
    from naheo_spec.xps.charge import charge_reference
    from naheo_spec.xps.pipeline import select_blocks

    p = prepared.payload
    charges: dict = {}
    for spec in select_blocks(collection, p["region"]):
        sample = spec.acquisition.sample if spec.acquisition else None
        if sample not in charges:
            charges[sample] = charge_reference(p["charge_ref"], collection=collection,
                                               sample=sample, uncertainty_eV=p["charge_ref_err"])
        yield spec, {"charge": charges[sample]}


def run_scan(spectrum, prepared: Prepared, charge=None) -> ScanOutput:
    """:func:`~naheo_spec.xps.pipeline.analyze_region` on one block."""
    from naheo_spec.xps.pipeline import analyze_region

    p = prepared.payload
    res = analyze_region(spectrum, p["model"], background=p["background"], charge=charge,
                         elements=p["elements"], error_budget=p["error_budget"],
                         window=None if p["window"] is None else tuple(p["window"]))
    d = res.to_json_dict()
    values = {"mean_oxidation_state": d["mean_oxidation_state"],
              "mean_oxidation_state_err": d["mean_oxidation_state_err"],
              "energy_shift_eV": d["energy_shift_eV"], "reduced_chi2": d["reduced_chi2"],
              "information_depth_nm": res.information_depth_nm}
    for state, frac in (d.get("valence_fractions") or {}).items():
        if state in _STATES:
            values[_col(state)] = frac
            values[_col(state) + "_err"] = (d.get("valence_fractions_err") or {}).get(state)
    return ScanOutput(values=values, record=res.to_record(), warnings=tuple(res.warnings))


PIPELINE = PipelineSpec(name="xps", technique="xps",
                        description="XPS: one region of every file, valence fractions and the "
                                    "mean oxidation state with their error budget",
                        options=OPTIONS, columns=COLUMNS, prepare=prepare, run_scan=run_scan,
                        scans=scans, version="1")
