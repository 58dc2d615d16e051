"""Every tutorial runs against a *non-editable* install, from a folder outside the
repository, with no shared data folder: what a reader who ran ``pip install naheo-spec``
has. This is what proves that the datasets, built-in standards, templates and presets
ship inside the wheel."""
import os
import re
import subprocess
import sys

import pytest

from conftest import REPO

TUTORIALS = sorted(p for p in (REPO / "docs" / "tutorials").glob("*.md") if p.stem != "index")
#: every executed page: the tutorials and the gallery
NOTEBOOKS = TUTORIALS + [REPO / "docs" / "gallery.md"]

RUNNER = r'''
import re, sys, pathlib, warnings
import matplotlib
matplotlib.use("Agg")
import naheo_spec
assert naheo_spec.__file__.startswith(sys.argv[1]), naheo_spec.__file__
warnings.simplefilter("ignore")
cells = re.findall(r"^```\{code-cell\}[^\n]*\n(?::[^\n]*\n)*(.*?)^```",
                   pathlib.Path(sys.argv[2]).read_text(encoding="utf-8"), re.S | re.M)
assert cells, "no code cells"
ns = {"__name__": "__tutorial__"}
for i, code in enumerate(cells, 1):
    exec(compile(code, f"{pathlib.Path(sys.argv[2]).name}[cell {i}]", "exec"), ns)
print("cells", len(cells))
'''


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("wheel")
    wheels, target = tmp / "wheels", tmp / "site"
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(REPO), "--no-deps", "-q",
                    "-w", str(wheels)], check=True, capture_output=True)
    whl = next(wheels.glob("*.whl"))
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target",
                    str(target), str(whl)], check=True, capture_output=True)
    return target


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_tutorial_runs_from_a_plain_install(installed, path, tmp_path):
    env = {k: v for k, v in os.environ.items()
           if k not in ("NAHEO_SHARED_DATA", "NAHEO_REFERENCE_SPECTRA", "PYTHONPATH")}
    env.update(PYTHONPATH=str(installed), NAHEO_CACHE=str(tmp_path / "cache"), MPLBACKEND="Agg")
    run = subprocess.run([sys.executable, "-c", RUNNER, str(installed), str(path)],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-4000:]
    assert re.search(r"cells \d+", run.stdout)
