"""The documentation builds without a warning (reST in docstrings, MyST pages, the CLI
reference, cross-references). Notebooks are not executed here: tests/test_tutorials.py
runs every code cell; the published build executes them (NAHEO_DOCS_EXECUTE=cache)."""
import subprocess
import sys

import pytest

from conftest import REPO

pytest.importorskip("sphinx")
pytest.importorskip("myst_nb")
pytest.importorskip("sphinx_click")
pytest.importorskip("numpydoc")
pytest.importorskip("pydata_sphinx_theme")


def test_docs_build_without_warnings(tmp_path):
    import os

    env = {**os.environ, "NAHEO_DOCS_EXECUTE": "off"}
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
         "-d", str(tmp_path / "doctrees"), str(REPO / "docs"), str(tmp_path / "html")],
        capture_output=True, text=True, timeout=600, env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-6000:]
    for page in ["index", "tutorials/xanes", "tutorials/xps", "tutorials/raman", "cli", "api",
                 "gallery", "uncertainties"]:
        assert (tmp_path / "html" / f"{page}.html").is_file(), page
    # the API reference covers every technique and the batch engine
    for module in ["naheo_spec.xas", "naheo_spec.xps", "naheo_spec.raman", "naheo_spec.batch",
                   "naheo_spec.xps.pipeline", "naheo_spec.raman.pipeline"]:
        assert (tmp_path / "html" / "api" / f"{module}.html").is_file(), module
