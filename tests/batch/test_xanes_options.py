"""[xanes] options added for `naheo-spec xanes --stack -o` on large stacks: only written to
the parameters when given (earlier configs keep their keys), checked, and 'builtin'
standards resolve each element's built-in line."""
from pathlib import Path

import pytest

from naheo_spec.batch.config import config_from_toml
from naheo_spec.batch.registry import get_pipeline
from naheo_spec.errors import InputError


def test_optional_options_and_builtin_lines(tmp_path):
    spec = get_pipeline("xanes")
    plain = spec.prepare({}, tmp_path)
    assert "normalized" not in plain.parameters and "noise_correlation" not in plain.parameters
    p = spec.prepare({"normalized": True, "noise_correlation": 3, "energy_scale_sigma_eV": 0.5,
                      "standards": "builtin"}, tmp_path)
    assert p.parameters["normalized"] is True and p.parameters["noise_correlation"] == 3.0
    assert p.parameters["energy_scale_sigma_eV"] == 0.5
    import warnings

    from naheo_spec import datasets
    from naheo_spec.xas.builtin import builtin_calibration
    from naheo_spec.xas.xanes import analyze_xanes

    mno = datasets.load("mno_mn_k")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        q = spec.prepare({"standards": "builtin"}, tmp_path)
        out = spec.run_scan(mno, q)
        ref = analyze_xanes(mno, calibration=builtin_calibration("Mn"))
    assert out.values["oxidation_state"] == ref.oxidation_state       # the Mn built-in line
    for bad in ({"normalized": 1}, {"noise_correlation": 0.5}, {"energy_drift_sigma_eV": -1}):
        with pytest.raises(InputError, match=list(bad)[0]):
            spec.prepare(bad, tmp_path)


def test_config_from_toml_text(tmp_path):
    stack = tmp_path / "s.h5"
    stack.write_bytes(b"")
    text = (f'[input]\nstack = "{stack}"\n[xanes]\n[output]\nstore = "{tmp_path / "r.h5"}"\n')
    cfg = config_from_toml(text.encode(), tmp_path / "virtual.toml")
    assert cfg.stack == stack and cfg.store == tmp_path / "r.h5"
    assert cfg.path == (tmp_path / "virtual.toml").resolve() and not cfg.path.exists()
    with pytest.raises(InputError, match="not valid TOML"):
        config_from_toml(b"[input", Path("x.toml"))
