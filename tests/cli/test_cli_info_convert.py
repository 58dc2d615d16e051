"""CLI `info` and `convert` on real files and on unreadable ones (in-process, silx style)."""
import json
from pathlib import Path

import pytest

from conftest import CERIC, LARCH, XDL
from naheo_spec.cli.main import main

EXPECTED_ELEMENT = {"Ni": ("ni", "nio", "lanio3"), "Fe": ("fe",), "Mn": ("mn", "bixbyite")}


def _expected_element(path: Path) -> str:
    name = path.name.lower()
    if name.startswith(("ni", "lanio3")):
        return "Ni"
    if name.startswith(("mn", "bixbyite")):
        return "Mn"
    return "Fe"


def _xas_files(root: Path) -> list[Path]:
    files = []
    for sub in (CERIC, XDL, LARCH, f"{LARCH}/prj_export"):
        for p in sorted((root / sub).iterdir()):
            if p.is_file() and p.suffix.lower() not in (".md", ".txt") and not p.name.startswith("feff"):
                files.append(p)
    return files


def run_json(capsys, args):
    rc = main(args + ["--json"])
    out = capsys.readouterr()
    return rc, json.loads(out.out), out.err


def test_info_reads_every_xas_file_with_right_edge(xas_data, capsys):
    files = _xas_files(xas_data)
    assert len(files) >= 30
    rc, rows, err = run_json(capsys, ["info", *map(str, files)])
    assert rc == 0, err
    by_file: dict[str, list[dict]] = {}
    for r in rows:
        assert "error" not in r, r
        by_file.setdefault(Path(r["file"]).name, []).append(r)
    assert set(by_file) == {p.name for p in files}
    for p in files:
        for r in by_file[p.name]:
            assert r["element"] == _expected_element(p), (p.name, r["scan"], r["element"])
            assert r["edge"] == "K", (p.name, r["edge"])
            assert r["points"] >= 100
            assert 6000 < r["axis_min"] < r["axis_max"] < 11000


def test_info_prj_groups_and_reference(xas_data, capsys):
    rc, rows, _ = run_json(capsys, ["info", str(xas_data / LARCH / "NiO.prj")])
    assert rc == 0
    scans = {r["scan"]: r for r in rows}
    assert len(scans) >= 10  # 10 scans + merge
    s000 = next(r for name, r in scans.items() if name.endswith("000") and "ref" not in name.lower())
    assert s000["has_reference"]
    assert s000["athena_eshift_eV"] == pytest.approx(1.252, abs=1e-3)


BAD_INPUTS = {
    "empty.dat": b"",
    "header_only.dat": b"# energy mu\n# nothing else\n",
    "words.dat": b"this is not\nspectroscopy data at all\n",
    "one_column.dat": b"# energy\n7000\n7001\n7002\n7003\n7004\n7005\n",
    "ragged.dat": b"# energy mu i0\n7000 1 2\n7001 1\n7002 1 2\n7003 1 2\n7004 1 2\n7005 1 2\n",
    "binary.dat": bytes(range(256)) * 8,
    "corrupt.prj": b"\x1f\x8b\x08\x00garbage-not-really-gzip" * 10,
    "corrupt.h5": b"\x89HDF\r\n\x1a\n" + b"\x00\x01broken" * 50,
}


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_unreadable_input_one_clear_message(name, tmp_path, capsys):
    bad = tmp_path / name
    bad.write_bytes(BAD_INPUTS[name])
    rc = main(["info", str(bad)])
    out = capsys.readouterr()
    assert rc != 0
    assert "Traceback" not in out.err
    lines = [ln for ln in out.err.splitlines() if ln.startswith("error")]
    assert len(lines) == 1 and name in lines[0], out.err


def _write_good(tmp_path: Path, energies, name="good.dat") -> Path:
    import numpy as np

    e = np.asarray(energies, float)
    mu = 1 / (1 + np.exp(-(e - 7112) / 2.0)) if e.max() > 1000 else 1 / (1 + np.exp(-(e - 7.112) / 0.002))
    p = tmp_path / name
    p.write_text("# energy mu\n" + "\n".join(f"{a} {b}" for a, b in zip(e, mu)))
    return p


def test_recoverable_inputs_are_repaired_and_reported_in_json(tmp_path, capsys):
    import numpy as np

    e = np.linspace(7000, 7300, 200)
    rev = _write_good(tmp_path, e[::-1], "reversed.dat")
    kev = _write_good(tmp_path, e / 1000.0, "kev.dat")
    nan = tmp_path / "nan.dat"
    txt = _write_good(tmp_path, e, "tmp.dat").read_text().splitlines()
    txt[50] = "7075.0 nan"
    nan.write_text("\n".join(txt))
    rc, rows, _ = run_json(capsys, ["info", str(rev), str(kev), str(nan)])
    assert rc == 0
    w = {Path(r["file"]).name: " ".join(x["message"] for x in r["warnings"]).lower() for r in rows}
    assert "revers" in w["reversed.dat"] or "sort" in w["reversed.dat"]
    assert "kev" in w["kev.dat"]
    assert "nan" in w["nan.dat"]
    kev_row = next(r for r in rows if r["file"].endswith("kev.dat"))
    assert kev_row["axis_min"] == pytest.approx(7000, abs=1e-6)


def test_batch_with_one_bad_file_still_writes_good_results(xas_data, tmp_path, capsys):
    bad = tmp_path / "bad.dat"
    bad.write_bytes(b"")
    good = xas_data / CERIC / "FeO_311.xdi"
    out = tmp_path / "store.h5"
    rc = main(["convert", str(good), str(bad), "-o", str(out)])
    err = capsys.readouterr().err
    assert rc == 1 and "bad.dat" in err
    from naheo_spec.store import read_records

    recs = read_records(out)
    assert len(recs) == 1
    # refuse to overwrite without --overwrite
    rc = main(["convert", str(good), "-o", str(out)])
    assert rc != 0 and "exists" in capsys.readouterr().err
    assert main(["convert", str(good), "-o", str(out), "--overwrite"]) == 0


def test_convert_to_xdi_round_trips(xas_data, tmp_path, capsys):
    import numpy as np

    from naheo_spec.io import read_spectrum

    src = xas_data / CERIC / "MnO.xdi"
    assert main(["convert", str(src), "-o", str(tmp_path / "xdi"), "--to", "xdi"]) == 0
    (written,) = list((tmp_path / "xdi").glob("*.xdi"))
    a, b = read_spectrum(src), read_spectrum(written)
    assert b.element == "Mn" and b.edge == "K"
    np.testing.assert_allclose(b.energy, a.energy, rtol=0, atol=1e-6)
    np.testing.assert_allclose(b.mu, a.mu, rtol=1e-8)


def test_help_and_bad_option():
    assert main(["--help"]) == 0
    assert main(["info", "--no-such-option"]) != 0
