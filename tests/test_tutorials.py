"""Execute every tutorial in docs/tutorials so that they cannot rot.

Tutorials are MyST-NB notebooks: their ``{code-cell}`` blocks run in order in one namespace,
with the working directory set to a temporary folder and *no* shared data folder, exactly
as a reader runs them after a plain install (they use ``naheo_spec.datasets`` only).
"""
import re

import pytest

from conftest import REPO

TUTORIALS = sorted(p for p in (REPO / "docs" / "tutorials").glob("*.md") if p.stem != "index")
#: every executed page: the tutorials and the gallery
NOTEBOOKS = TUTORIALS + [REPO / "docs" / "gallery.md"]
# cell options (":tags: [remove-cell]") sit on the lines right after the directive
CELL = re.compile(r"^```\{code-cell\}[^\n]*\n(?::[^\n]*\n)*(.*?)^```", re.S | re.M)
FRONT_MATTER = "---\nfile_format: mystnb\n"


def code_cells(path):
    return CELL.findall(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_tutorial_is_a_notebook(path):
    text = path.read_text(encoding="utf-8")
    assert text.startswith(FRONT_MATTER), f"{path.name} lacks the MyST-NB front matter"
    # without the kernel language myst-nb finds no lexer and the docs build warns
    assert re.search(r"^kernelspec:\n(  .*\n)*  language: python\n", text, re.M), \
        f"{path.name}: kernelspec lacks 'language: python'"
    assert code_cells(path), f"{path.name} has no code cells"
    # a plain ```python block would be shown but never executed, so it could rot
    assert not re.search(r"^```python\s*$", text, re.M), f"{path.name} has a ```python block"
    assert "NAHEO_SHARED_DATA" not in text, f"{path.name} needs the shared data folder"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_tutorial_runs(path, tmp_path, monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NAHEO_SHARED_DATA", raising=False)
    monkeypatch.setenv("NAHEO_CACHE", str(tmp_path / "cache"))
    ns: dict = {"__name__": "__tutorial__"}
    for i, code in enumerate(code_cells(path), 1):
        try:
            exec(compile(code, f"{path.name}[cell {i}]", "exec"), ns)
        except Exception as exc:  # make the failing cell obvious
            raise AssertionError(f"{path.name}, code cell {i} failed: {exc!r}\n{code}") from exc
    import matplotlib.pyplot as plt

    plt.close("all")


def test_every_tutorial_is_listed():
    index = (REPO / "docs" / "tutorials" / "index.md").read_text(encoding="utf-8")
    toctree = index.split("```{toctree}", 1)[1].split("```", 1)[0]
    listed = {line.strip() for line in toctree.splitlines() if line.strip()
              and not line.strip().startswith(":")}
    assert listed == {p.stem for p in TUTORIALS}
    assert {"xanes", "exafs", "xps", "raman", "batch"} <= listed
