"""The column-expression evaluator computes arithmetic and refuses everything else."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from naheo_spec.errors import ReadError
from naheo_spec.io.expressions import evaluate_expression, normalize_name, parse_expression

COLS = {"I0": np.array([100.0, 200.0, 400.0]), "it": np.array([50.0, 50.0, 50.0]),
        "if": np.array([1.0, 3.0, 5.0]), "ir": np.array([25.0, 25.0, 10.0])}


@pytest.mark.parametrize("expr,expected", [
    ("ln(i0/it)", np.log(COLS["I0"] / COLS["it"])),
    ("mu=ln(i0/it)", np.log(COLS["I0"] / COLS["it"])),
    ("if/i0", COLS["if"] / COLS["I0"]),                     # "if" is a Python keyword
    ("ref = ln(IT/IR)", np.log(COLS["it"] / COLS["ir"])),   # case-insensitive names
    ("-log10(i0) + 2**3 * sqrt(abs(-it)) - exp(0)", -np.log10(COLS["I0"]) + 8 * np.sqrt(50.0) - 1),
    ("1.5e2", np.full(3, 150.0)),
])
def test_arithmetic(expr, expected):
    np.testing.assert_allclose(evaluate_expression(expr, COLS), expected)


def test_log_of_negative_is_nan_not_an_error():
    out = evaluate_expression("ln(it - i0)", COLS)
    assert np.all(np.isnan(out))


@pytest.mark.parametrize("expr,pattern", [
    ("__import__('os').system('touch HACKED')", "not allowed"),
    ("i0.__class__", "Attribute is not allowed"),
    ("i0[0]", "Subscript is not allowed"),
    ("(lambda: 1)()", "not allowed|invalid syntax"),
    ("open('x')", "function 'open' is not allowed"),
    ("ln(i0, it)", "exactly one argument"),
    ("'a' + i0", "only numbers"),
    ("i0 if it else ir", "not allowed|invalid syntax"),
    ("[i0]", "List is not allowed"),
    ("i0 +", "invalid syntax"),
    ("", "empty"),
    ("i0 + " * 200 + "1", "longer than"),
])
def test_rejected(expr, pattern, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ReadError, match=pattern):
        evaluate_expression(expr, COLS, role="mu", path="data.dat")
    assert not (tmp_path / "HACKED").exists()


def test_unknown_name_lists_columns():
    with pytest.raises(ReadError) as info:
        evaluate_expression("ln(i0/itrans)", COLS, role="mu", path="scan.dat")
    msg = str(info.value)
    assert msg.startswith("scan.dat")
    assert "unknown name 'itrans'" in msg and "I0, it, if, ir" in msg and "mu='ln(i0/itrans)'" in msg
    assert info.value.column == "itrans"


def test_parse_reports_names():
    assert parse_expression("ln(I0/It) + if").names == ("i0", "it", "if")


@pytest.mark.parametrize("label,name", [("I0", "i0"), ("Energy(eV)", "energy_ev"),
                                        ("2theta", "_2theta"), ("mu ref", "mu_ref")])
def test_normalize_name(label, name):
    assert normalize_name(label) == name


@settings(max_examples=60, deadline=None)
@given(a=st.floats(0.1, 1e4), b=st.floats(0.1, 1e4), k=st.floats(-5, 5))
def test_matches_numpy(a, b, k):
    cols = {"a": np.array([a]), "b": np.array([b])}
    got = evaluate_expression(f"ln(a/b) * ({k!r}) - a**0.5 / (b + 1)", cols)
    np.testing.assert_allclose(got, np.log(a / b) * k - a ** 0.5 / (b + 1), rtol=1e-12)
