"""Structure templates, the CIF reader and the FEFF cluster: distances against
crystallography (lattice parameters from reference_spectra/structures/structures.toml)
and against published CIFs (AMCSD entries shipped with larixite)."""
from __future__ import annotations

import math
import re
import warnings

import numpy as np
import pytest

from naheo_spec.errors import InputError, QualityWarning, ReadError
from xas._exafs_cases import amcsd_cif  # noqa: F401  (fixture)
from naheo_spec.xas.structures import (
    Lattice, Site, Structure, cluster, from_cif, o3_geometry_from_bonds, o3_layered,
    parse_structure_spec, reference_structure, reference_structures, rocksalt,
)

TABLE = reference_structures()


def shells(atoms, tol=1e-3):
    """{distance rounded: {element: count}} of a cluster, absorber excluded."""
    out: dict[float, dict[str, int]] = {}
    for el, x, y, z in atoms[1:]:
        d = round(math.sqrt(x * x + y * y + z * z), 3)
        key = next((k for k in out if abs(k - d) < tol), d)
        out.setdefault(key, {}).setdefault(el, 0)
        out[key][el] += 1
    return dict(sorted(out.items()))


def o3_tm_o(a, c, z):
    return math.sqrt(a * a / 3 + (c * (1 / 3 - z)) ** 2)


@pytest.mark.parametrize("name", ["NiO", "FeO", "MnO"])
def test_rocksalt_shells_match_crystallography(name):
    e = TABLE[name]
    a = e["a_A"]
    sh = shells(cluster(rocksalt(e["cation"], a), e["cation"], 4.0))
    d = list(sh)
    assert d[0] == pytest.approx(a / 2, abs=1e-3) and sh[d[0]] == {"O": 6}
    assert d[1] == pytest.approx(a / math.sqrt(2), abs=1e-3) and sh[d[1]] == {e["cation"]: 12}
    assert d[2] == pytest.approx(a * math.sqrt(3) / 2, abs=1e-3) and sh[d[2]] == {"O": 8}


def test_cluster_is_sorted_and_starts_with_absorber():
    atoms = cluster(reference_structure("NiO"), "Ni", 6.0)
    r = [math.dist((0, 0, 0), a[1:]) for a in atoms]
    assert atoms[0] == ("Ni", 0.0, 0.0, 0.0)
    assert np.all(np.diff(r) >= -1e-9)
    assert atoms == cluster(reference_structure("NiO"), "Ni", 6.0)  # reproducible order


def test_o3_template_geometry():
    e = TABLE["alpha-NaFeO2"]
    s = reference_structure("alpha-NaFeO2")
    sh = shells(cluster(s, "Fe", 3.5))
    d = list(sh)
    assert d[0] == pytest.approx(o3_tm_o(e["a_A"], e["c_A"], e["z_oxygen"]), abs=1e-3)
    assert sh[d[0]] == {"O": 6}
    assert d[1] == pytest.approx(e["a_A"], abs=1e-3) and sh[d[1]] == {"Fe": 6}
    tm_na = math.sqrt(e["a_A"] ** 2 / 3 + e["c_A"] ** 2 / 36)
    assert d[2] == pytest.approx(tm_na, abs=1e-3) and sh[d[2]] == {"Na": 6}


def test_o3_from_table_equals_published_rhombohedral_cif(amcsd_cif):
    """The hexagonal conversion in structures.toml reproduces the Goldsztaub (1935) CIF,
    which is given in the rhombohedral setting with Na (not Fe) at the origin."""
    from_file = shells(cluster(from_cif(amcsd_cif(17525)), "Fe", 3.5))
    template = shells(cluster(reference_structure("alpha-NaFeO2"), "Fe", 3.5))
    assert len(from_file) == len(template)
    for (d1, c1), (d2, c2) in zip(from_file.items(), template.items()):
        assert d1 == pytest.approx(d2, abs=2e-3) and c1 == c2


def test_cif_with_symmetry_operators_matches_template(amcsd_cif):
    s = from_cif(amcsd_cif(11314))  # wustite, Wyckoff 1963, F m 3 m with 192 operators
    assert sorted(site.majority for site in s.sites) == ["Fe"] * 4 + ["O"] * 4
    assert s.lattice.a_A == pytest.approx(TABLE["FeO"]["a_A"])
    assert shells(cluster(s, "Fe", 5.0)) == shells(cluster(reference_structure("FeO"), "Fe", 5.0))


P1_CIF = """data_test
_cell_length_a 4.1769(2)
_cell_length_b 4.1769
_cell_length_c 4.1769
_cell_angle_alpha 90
_cell_angle_beta 90
_cell_angle_gamma 90
_symmetry_space_group_name_H-M 'P 1'
_publ_section_title
;
 A test: l'oxyde de nickel
;
loop_
_atom_site_label
_atom_site_type_symbol
_atom_site_fract_x
_atom_site_fract_y
_atom_site_fract_z
_atom_site_occupancy
Ni1 Ni2+ 0 0 0 0.3
Mg1 Mg 0 0 0 0.7
Ni2 Ni 0 0.5 0.5 1
Ni3 Ni 0.5 0 0.5 1
Ni4 Ni 0.5 0.5 0 1
O1 O 0.5 0.5 0.5 1
O2 O 0.5 0 0 1
O3 O 0 0.5 0 1
O4 O 0 0 0.5 1
"""


def test_p1_cif_with_mixed_site(tmp_path):
    p = tmp_path / "nio_p1.cif"
    p.write_text(P1_CIF)
    s = from_cif(p)
    assert len(s.sites) == 8
    mixed = s.sites[0]
    assert mixed.species == (("Mg", 0.7), ("Ni", 0.3)) and mixed.occupancy == pytest.approx(1.0)
    # Seen from a pure Ni site, 4 of the 12 cation neighbours are images of the mixed site:
    # Ni with representative="absorber" (it contains the absorber), Mg with "majority".
    as_abs = shells(cluster(s, "Ni", 3.0, site_index=1))
    as_maj = shells(cluster(s, "Ni", 3.0, site_index=1, representative="majority"))
    d_mm = list(as_abs)[1]
    assert d_mm == pytest.approx(4.1769 / math.sqrt(2), abs=1e-3)
    assert as_abs[d_mm] == {"Ni": 12} and as_maj[d_mm] == {"Ni": 8, "Mg": 4}


def test_representative_choice_on_mixed_tm_layer():
    s = o3_layered(2.96, 16.0, z_oxygen=0.26, tm_occupancy={"Ni": 0.25, "Mn": 0.49, "Fe": 0.26})
    as_abs = shells(cluster(s, "Ni", 3.0, representative="absorber"))
    as_maj = shells(cluster(s, "Ni", 3.0, representative="majority"))
    d_tm = list(as_abs)[1]
    assert d_tm == pytest.approx(2.96, abs=1e-3)
    assert as_abs[d_tm] == {"Ni": 6} and as_maj[d_tm] == {"Mn": 6}


def test_inequivalent_absorber_sites_warn():
    # Fe in an octahedral (0,0,0) and a tetrahedral-like (1/4,1/4,1/4) site of a cubic cell.
    s = Structure("two Fe sites", Lattice(4.2, 4.2, 4.2),
                  (Site("Fe1", (0.0, 0.0, 0.0), (("Fe", 1.0),)),
                   Site("Fe2", (0.25, 0.25, 0.25), (("Fe", 1.0),)),
                   Site("O1", (0.5, 0.0, 0.0), (("O", 1.0),))))
    with pytest.warns(QualityWarning, match="inequivalent"):
        cluster(s, "Fe", 4.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cluster(s, "Fe", 4.0, site_index=1)


def test_parse_structure_spec(tmp_path):
    s = parse_structure_spec("rocksalt:a=4.177", absorber="Ni")
    assert s.elements == ("Ni", "O") and s.lattice.a_A == 4.177
    o3 = parse_structure_spec("o3:a=2.96,c=16.0,z=0.26,Ni=0.25,Mn=0.49,Fe=0.26,x=0.9")
    assert o3.sites[0].species[0] == ("Mn", 0.49)
    assert o3.sites[3].species == (("Na", 0.9),)
    assert parse_structure_spec("ref:MnO").lattice.a_A == TABLE["MnO"]["a_A"]
    p = tmp_path / "x.cif"
    p.write_text(P1_CIF)
    assert len(parse_structure_spec(str(p)).sites) == 8


@pytest.mark.parametrize("spec, match", [
    ("rocksalt:a=4.177", "cation"),
    ("rocksalt:a=abc,cation=Ni", "a must be a number"),
    ("o3:a=2.96,c=16.0,Ni=1", "missing z="),
    ("o3:a=2.96,c=16.0,z=0.40,Ni=1", "z_oxygen=0.4"),
    ("o3:a=2.96,c=16.0,z=0.26,Ni=0.8,Mn=0.5", "sums to 1.3"),
    ("spinel:a=8.1", "expected 'rocksalt"),
    ("ref:LiNiO2", "not in the table"),
    ("missing.cif", "not found"),
])
def test_parse_structure_spec_errors(spec, match):
    with pytest.raises(InputError, match=match):
        parse_structure_spec(spec)


def test_cif_errors(tmp_path):
    with pytest.raises(ReadError, match="cannot read CIF"):
        from_cif(tmp_path / "none.cif")
    p = tmp_path / "nosym.cif"
    p.write_text(P1_CIF.replace("'P 1'", "'F m -3 m'"))
    with pytest.raises(ReadError, match="without a symmetry-operator loop"):
        from_cif(p)
    p.write_text(P1_CIF.replace("_cell_length_c 4.1769\n", ""))
    with pytest.raises(ReadError, match="missing _cell_length_c"):
        from_cif(p)


def test_absorber_not_in_structure():
    with pytest.raises(InputError, match="absorber='Co' is not in structure"):
        cluster(reference_structure("NiO"), "Co", 4.0)


# ---------------------------------------------------------------- O3 from bond lengths
def test_o3_geometry_from_bonds_inverts_the_o3_cell():
    e = TABLE["alpha-NaFeO2"]
    a, c, z = e["a_A"], e["c_A"], e["z_oxygen"]
    tm_o = o3_tm_o(a, c, z)
    na_o = math.sqrt(a * a / 3 + (c * (z - 1 / 6)) ** 2)
    got_a, got_z = o3_geometry_from_bonds(c, tm_o, na_o)
    assert got_a == pytest.approx(a, abs=1e-9) and got_z == pytest.approx(z, abs=1e-9)
    with pytest.raises(InputError, match="no O3 cell"):
        o3_geometry_from_bonds(c, 3.0, 1.5)


def test_target_cathode_template_is_self_consistent():
    """ref:NaLNCFM-O3: c from the paper (3 x 0.539 nm), TM-O and Na-O of the table entry;
    the cluster has 6 O at TM-O, 6 TM at a and Na at the O3 TM-Na distance, for every edge;
    the TM layer holds the paper's composition and Na 0.95."""
    e = TABLE["NaLNCFM-O3"]
    s = reference_structure("NaLNCFM-O3")
    assert e["approximate"] is True and "Nano-Micro Lett. 16, 10 (2024)" in e["c_source"]
    assert s.lattice.c_A == pytest.approx(3 * 5.39, abs=1e-9)
    a = s.lattice.a_A
    tm = dict(s.sites[0].species)
    assert tm == pytest.approx(e["tm_occupancy"]) and sum(tm.values()) == pytest.approx(1.0)
    assert dict(s.sites[3].species) == {"Na": e["alkali_occupancy"]}
    for el in ("Ni", "Fe", "Mn"):
        sh = shells(cluster(s, el, 3.3))
        d = list(sh)
        assert d[0] == pytest.approx(e["tm_o_A"], abs=1e-3) and sh[d[0]] == {"O": 6}
        assert d[1] == pytest.approx(a, abs=1e-3) and sh[d[1]] == {el: 6}
        assert sh[d[2]] == {"Na": 6}


def test_bond_rule_checked_on_alpha_nafeo2():
    """The documented uncertainty of the bond-length rule: with Shannon-radius bonds
    (uncertainty_note of the NaLNCFM-O3 entry) alpha-NaFeO2's a comes out within 0.06 A
    and z within 0.01 of the refined cell."""
    e = TABLE["alpha-NaFeO2"]
    note = TABLE["NaLNCFM-O3"]["uncertainty_note"]
    tm_o, na_o = (float(x) for x in re.findall(r"HS (\d\.\d+) A, Na-O (\d\.\d+) A", note)[0])
    a, z = o3_geometry_from_bonds(e["c_A"], tm_o, na_o)
    assert abs(a - e["a_A"]) < 0.06 and abs(z - e["z_oxygen"]) < 0.01
