"""naheo-spec xanes options added for issues 10 and 11: --normalized and the warning that
names it, --standards names, energy-scale priors, --noise-correlation."""
import io
import json
from contextlib import redirect_stdout

import numpy as np
import pytest

from conftest import CERIC, LARCH


def _cli(argv):
    from naheo_spec.cli.main import main

    buf = io.StringIO()
    with redirect_stdout(buf):
        rc = main(argv)
    return rc, buf.getvalue()


@pytest.fixture(scope="module")
def export(xas_data, tmp_path_factory):
    """A normalized 40 eV export derived from the measured NiO (labelled in its header)."""
    import warnings

    from naheo_spec.io import read_spectra
    from naheo_spec.xas.xanes import analyze_xanes

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = [x for x in read_spectra(xas_data / LARCH / "NiO.prj") if x.source.scan == "NiO.000"]
        r = analyze_xanes(s[0], markers=False)
    grid = np.arange(8323.0, 8363.0, 0.4)
    path = tmp_path_factory.mktemp("exp") / "nio_norm_export.txt"
    body = "\n".join(f"{e:.2f} {y:.6f}" for e, y in zip(grid, np.interp(grid, r.energy, r.norm)))
    path.write_text("# SYNTHETIC derivation: NiO.prj NiO.000 normalized, 40 eV, 0.4 eV grid\n"
                    "# element: Ni\n# energy norm\n" + body + "\n")
    return path, r.e0_eV


def test_normalized_flag_and_the_warning_that_names_it(export):
    path, e0 = export
    rc, out = _cli(["xanes", str(path), "--json", "--no-valence"])
    (d,) = json.loads(out)
    assert any(w["code"] == "xas.xanes.looks_normalized" and "--normalized" in w["message"]
               for w in d["warnings"])
    rc, out = _cli(["xanes", str(path), "--json", "--no-valence", "--normalized",
                    "--energy-scale-sigma", "0.1", "--energy-drift-sigma", "0.1"])
    (d,) = json.loads(out)
    assert abs(d["e0_eV"] - e0) < 0.2 and 0.02 <= d["e0_err_eV"] <= 1.0
    assert d["e0_err_terms_eV"]["energy_scale"] == 0.1
    assert not any(w["code"] == "xas.xanes.looks_normalized" for w in d["warnings"])


def test_standards_names_and_errors(xas_data, capsys):
    scan = str(xas_data / CERIC / "bixbyite_10m.xdi")
    rc, out = _cli(["xanes", scan, "--standards", "mn", "--json"])
    assert rc == 0 and abs(json.loads(out)[0]["oxidation_state"] - 3.0) < 0.3
    rc, _ = _cli(["xanes", scan, "--standards", "cu"])
    assert rc != 0 and "no built-in Cu standards" in capsys.readouterr().err
    rc, _ = _cli(["xanes", scan, "--standards", "fe"])          # Fe line for a Mn scan
    assert rc != 0
    rc, _ = _cli(["xanes", scan, "--standards", "mn", "--no-valence"])
    assert rc != 0


def test_noise_correlation_widens_the_noise_term(xas_data):
    scan = str(xas_data / CERIC / "mno2_10m.xdi")
    _, out1 = _cli(["xanes", scan, "--json", "--no-valence"])
    _, out3 = _cli(["xanes", scan, "--json", "--no-valence", "--noise-correlation", "4"])
    n1 = json.loads(out1)[0]["e0_err_terms_eV"]["noise"]
    n3 = json.loads(out3)[0]["e0_err_terms_eV"]["noise"]
    assert n3 > 1.5 * n1


def test_format_forces_the_reader(xas_data, capsys):
    from naheo_spec.cli.main import main

    scan = str(xas_data / CERIC / "FeO_311.xdi")
    assert main(["xanes", scan, "--format", "xdi", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert 7115.0 < rows[0]["e0_eV"] < 7125.0          # Fe2+ K edge, half-height
    assert main(["xanes", scan, "--format", "athena"]) == 1
    err = capsys.readouterr().err
    assert "FeO_311.xdi" in err and "Athena" in err and "Traceback" not in err
