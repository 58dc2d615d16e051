"""Real-data cases shared by the XANES kernel tests (files under ../shared/data/xas)."""
from __future__ import annotations

import warnings

import numpy as np

from conftest import CERIC, LARCH, XDL
from naheo_spec.io import read_spectrum

#: Real spectra covering pre-edge and EXAFS (files under ../shared/data/xas).
FULL_RANGE = [
    f"{CERIC}/FeO_311.xdi", f"{CERIC}/Fe3O4_311.xdi", f"{CERIC}/Fe2O3_311_EXAFS.xdi",
    f"{CERIC}/MnO.xdi", f"{CERIC}/bixbyite_10m.xdi", f"{CERIC}/mno2_10m.xdi",
    f"{CERIC}/LaNiO3_Ni_80K_111.xdi", f"{CERIC}/Ni_foil_111.xdi", f"{CERIC}/Fe_foil_311.xdi",
    f"{CERIC}/Mn_foil_111.xdi",
    f"{LARCH}/fe2o3_rt1.xmu", f"{LARCH}/feo_rt1.xdi", f"{LARCH}/ni_metal_rt.xdi",
    f"{LARCH}/fe3c_rt.xdi", f"{LARCH}/feo_xafs.dat",
    *(f"{LARCH}/prj_export/{n}.dat" for n in (
        "FeO__FeO", "Fe__Fe_foil", "Fe__Goerthite", "Fe__Hematite", "Mn__Li2MnO3",
        "Mn__Mn2O3x", "Mn__Mn3O4", "Mn__MnO", "Mn__Mn_foil", "Mn__Pyrolusite",
        "Mn__Ramsdellite", "Mn__g_MnOOH", "NiO__NiO", "NiO__NiO_000", "NiO__d_Ref_NiO",
        "NiO__d_Ref_NiO_000")),
    f"{XDL}/Fe_Foil_rt_2016Foils.xdi", f"{XDL}/Fe_metal_rt_01.xdi", f"{XDL}/Fe3O4_rt_01.xdi",
    f"{XDL}/Ni2O3_rt_01.xdi", f"{XDL}/NiOH2_rt_01.xdi",
]
XANES_ONLY = [f"{XDL}/{n}_rt_01.xdi" for n in ("MnO", "Mn2O3", "Mn3O4", "MnO2")]


def read_xy(xas_data, rel):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = read_spectrum(xas_data / rel)
    return s.energy, s.mu


def common_grid_stack(xas_data, rels, grid_from):
    energy, _ = read_xy(xas_data, grid_from)
    rows = []
    for rel in rels:
        e, m = read_xy(xas_data, rel)
        rows.append(np.interp(energy, e, m))
    return energy, np.array(rows)


FE_SET = [f"{LARCH}/fe2o3_rt1.xmu", f"{LARCH}/feo_rt1.xdi", f"{LARCH}/feo_xafs.dat",
          f"{LARCH}/prj_export/Fe__Goerthite.dat", f"{LARCH}/prj_export/Fe__Hematite.dat"]


