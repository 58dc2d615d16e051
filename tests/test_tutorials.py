"""Execute every tutorial in docs/tutorials so that they cannot rot.

Fenced ```python blocks run in order in one namespace, with the working directory set
to a temporary folder and NAHEO_SHARED_DATA pointing at ../shared/data.
"""
import re

import pytest

from conftest import REPO, SHARED_DATA

TUTORIALS = sorted(p for p in (REPO / "docs" / "tutorials").glob("*.md") if p.stem != "index")
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


@pytest.mark.parametrize("path", TUTORIALS, ids=[p.stem for p in TUTORIALS])
def test_tutorial_runs(path, tmp_path, monkeypatch, shared_data):
    import matplotlib

    matplotlib.use("Agg")
    blocks = BLOCK.findall(path.read_text())
    assert blocks, f"{path.name} has no python blocks"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NAHEO_SHARED_DATA", str(SHARED_DATA))
    monkeypatch.setenv("NAHEO_CACHE", str(tmp_path / "cache"))
    ns: dict = {"__name__": "__tutorial__"}
    for i, code in enumerate(blocks, 1):
        try:
            exec(compile(code, f"{path.name}[block {i}]", "exec"), ns)
        except Exception as exc:  # make the failing block obvious
            raise AssertionError(f"{path.name}, python block {i} failed: {exc!r}\n{code}") from exc
    import matplotlib.pyplot as plt

    plt.close("all")


def test_there_are_tutorials():
    names = {p.stem for p in TUTORIALS}
    assert {"xanes", "exafs"} <= names, names
