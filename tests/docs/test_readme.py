"""The README's Python example runs on the bundled data, and its commands name real
subcommands and options (so the front page cannot drift from the code)."""
import re
import shlex

import click
from click.testing import CliRunner

from conftest import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")


def test_readme_python_example_runs(tmp_path, monkeypatch):
    import warnings

    blocks = re.findall(r"^```python\n(.*?)^```", README, re.S | re.M)
    assert blocks
    monkeypatch.chdir(tmp_path)
    ns: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for code in blocks:
            exec(compile(code, "README.md", "exec"), ns)
    res = ns["res"]
    assert abs(res.oxidation_state - 4) < 0.3          # MnO2 on the built-in Mn line
    assert (tmp_path / "xanes.csv").is_file()


def test_readme_commands_exist():
    from naheo_spec.cli.main import cli

    block = README.split("## Command line", 1)[1].split("```console", 1)[1].split("```", 1)[0]
    runner = CliRunner()
    for line in block.strip().splitlines():
        words = shlex.split(line.split("#", 1)[0])
        assert words[0] == "naheo-spec", line
        sub = cli.get_command(click.Context(cli), words[1])   # subcommands load lazily
        assert sub is not None, f"{line}: no subcommand {words[1]}"
        known = {o for p in sub.params for o in getattr(p, "opts", [])}
        for w in words[2:]:
            if w.startswith("--"):
                assert w in known, f"{line}: {w} is not an option of {words[1]}"
        assert runner.invoke(cli, [words[1], "--help"]).exit_code == 0
