"""FEFF6 runs through larch's feff6l: path geometry against crystallography, the
SHA-256 cache (hit, key, atomic repair) and shell-path selection."""
from __future__ import annotations

import math
import os
import time

import pytest

from naheo_spec.errors import InputError
from naheo_spec.xas import feff as feff_mod
from naheo_spec.xas.feff import default_cache_dir, run_feff, select_shell_paths
from naheo_spec.xas.structures import parse_structure_spec, reference_structure, reference_structures

TABLE = reference_structures()
O3_SPEC = "o3:a=2.96,c=16.0,z=0.26,Ni=0.25,Mn=0.49,Fe=0.26"


@pytest.fixture(scope="session")
def feff_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("feff_cache")


@pytest.fixture(scope="session")
def nio_paths(feff_cache):
    return run_feff(reference_structure("NiO"), "Ni", cache_dir=feff_cache)


def test_rocksalt_paths_match_crystallography(nio_paths):
    a = TABLE["NiO"]["a_A"]
    first, second = select_shell_paths(nio_paths)
    assert (first.label, first.degeneracy, first.nleg) == ("Ni-O", 6.0, 2)
    assert (second.label, second.degeneracy) == ("Ni-Ni", 12.0)
    assert first.reff_A == pytest.approx(a / 2, abs=1e-3)
    assert second.reff_A == pytest.approx(a / math.sqrt(2), abs=1e-3)
    reffs = [p.reff_A for p in nio_paths]
    assert reffs == sorted(reffs) and max(reffs) <= 5.0 + 1e-6
    assert any(p.nleg == 3 for p in nio_paths)  # multiple-scattering paths are there too
    assert nio_paths.feff_version.startswith("Feff 6")
    assert nio_paths.provenance.parameters["rmax_A"] == 5.0


def test_cache_hit_does_not_rerun_feff(feff_cache, monkeypatch):
    s = parse_structure_spec("rocksalt:a=4.20", absorber="Ni")
    t0 = time.perf_counter()
    first = run_feff(s, "Ni", cache_dir=feff_cache)
    t_first = time.perf_counter() - t0
    assert not first.cache_hit
    mtime = os.stat(first.paths[0].filename).st_mtime_ns

    def no_feff(*args, **kwargs):
        raise AssertionError("FEFF was run although the result is cached")

    monkeypatch.setattr(feff_mod, "_run_in", no_feff)
    t0 = time.perf_counter()
    second = run_feff(s, "Ni", cache_dir=feff_cache)
    t_second = time.perf_counter() - t0
    assert second.cache_hit and second.folder == first.folder and second.paths == first.paths
    assert os.stat(second.paths[0].filename).st_mtime_ns == mtime
    assert t_second < t_first / 3, (t_first, t_second)


def test_cache_key_tracks_the_physics_not_the_name(feff_cache, nio_paths):
    same = run_feff("rocksalt:a=4.1769", "Ni", cache_dir=feff_cache)  # spec text, other name
    assert same.cache_key == nio_paths.cache_key and same.cache_hit
    other = run_feff(reference_structure("NiO"), "Ni", cache_dir=feff_cache, rmax_A=4.0)
    assert other.cache_key != nio_paths.cache_key
    assert max(p.reff_A for p in other) <= 4.0 + 1e-6


def test_broken_cache_entry_is_rebuilt_and_no_temp_left(tmp_path):
    s = reference_structure("MnO")
    first = run_feff(s, "Mn", cache_dir=tmp_path, rmax_A=3.5)
    (tmp_path / first.cache_key[:32] / "naheo_paths.json").unlink()
    again = run_feff(s, "Mn", cache_dir=tmp_path, rmax_A=3.5)
    assert not again.cache_hit and again.paths == first.paths
    assert run_feff(s, "Mn", cache_dir=tmp_path, rmax_A=3.5).cache_hit
    assert [p.name for p in tmp_path.iterdir()] == [first.cache_key[:32]]  # no temp folders


@pytest.mark.parametrize("absorber", ["Ni", "Mn"])
def test_o3_template_shells(feff_cache, absorber):
    paths = run_feff(O3_SPEC, absorber, cache_dir=feff_cache)
    tm_o, tm_tm = select_shell_paths(paths)
    assert tm_o.label == f"{absorber}-O" and tm_o.degeneracy == 6
    assert 1.9 <= tm_o.reff_A <= 2.1
    assert tm_o.reff_A == pytest.approx(math.sqrt(2.96 ** 2 / 3 + (16.0 * (1 / 3 - 0.26)) ** 2), abs=1e-3)
    # The mixed TM layer is represented by the absorber (representative="absorber");
    # Na (3.1 A) is skipped when choosing the metal-metal path.
    assert tm_tm.label == f"{absorber}-{absorber}" and tm_tm.degeneracy == 6
    assert 2.9 <= tm_tm.reff_A <= 3.0 and tm_tm.reff_A == pytest.approx(2.96, abs=1e-3)
    assert any(p.scatterers == ("Na",) and p.reff_A < 3.2 for p in paths)


def test_cif_and_template_give_the_same_calculation(feff_cache, tmp_path):
    a = TABLE["NiO"]["a_A"]
    rows = [("Ni", 0, 0, 0), ("Ni", 0, .5, .5), ("Ni", .5, 0, .5), ("Ni", .5, .5, 0),
            ("O", .5, .5, .5), ("O", .5, 0, 0), ("O", 0, .5, 0), ("O", 0, 0, .5)]
    cif = tmp_path / "nio_p1.cif"
    cif.write_text("data_nio\n" + "".join(f"_cell_length_{x} {a}\n" for x in "abc")
                   + "".join(f"_cell_angle_{x} 90\n" for x in ("alpha", "beta", "gamma"))
                   + "loop_\n_atom_site_label\n_atom_site_fract_x\n_atom_site_fract_y\n_atom_site_fract_z\n"
                   + "".join(f"{el}{i} {x} {y} {z}\n" for i, (el, x, y, z) in enumerate(rows, 1)))
    from_cif = run_feff(cif, "Ni", cache_dir=feff_cache)
    template = run_feff(reference_structure("NiO"), "Ni", cache_dir=feff_cache)
    assert from_cif.cache_key == template.cache_key


def test_errors(feff_cache):
    with pytest.raises(InputError, match="edge='M5'"):
        run_feff(reference_structure("NiO"), "Ni", edge="M5", cache_dir=feff_cache)
    with pytest.raises(InputError, match="absorber='Fe' is not in structure"):
        run_feff(reference_structure("NiO"), "Fe", cache_dir=feff_cache)
    with pytest.raises(InputError, match="rmax_A=20"):
        run_feff(reference_structure("NiO"), "Ni", rmax_A=20, cache_dir=feff_cache)


def test_default_cache_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("NAHEO_CACHE", str(tmp_path))
    assert default_cache_dir() == tmp_path / "feff"
    monkeypatch.delenv("NAHEO_CACHE")
    assert default_cache_dir().parts[-2:] == ("naheo_spec", "feff")
