"""`import naheo_spec` and `naheo-spec --help` must not pull in the heavy stack."""
import subprocess
import sys

HEAVY = ("larch", "matplotlib", "h5py", "xraydb", "lmfit", "scipy", "dask", "pybaselines")


def _modules_after(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys; print('\\n'.join(sys.modules))"],
                         capture_output=True, text=True, check=True)
    return {m.split(".")[0] for m in out.stdout.split()}


def test_import_is_light():
    mods = _modules_after("import naheo_spec")
    assert not mods & set(HEAVY), f"import naheo_spec pulled in {sorted(mods & set(HEAVY))}"


def test_cli_help_is_light():
    code = ("from naheo_spec.cli.main import main\n"
            "import contextlib, io\n"
            "with contextlib.redirect_stdout(io.StringIO()) as buf:\n"
            "    rc = main(['--help'])\n"
            "assert rc == 0 and 'xanes' in buf.getvalue() and 'exafs' in buf.getvalue()")
    mods = _modules_after(code)
    assert not mods & set(HEAVY), sorted(mods & set(HEAVY))


def test_import_pulls_in_numpy_and_the_standard_library_only():
    """What keeps `import naheo_spec` well under 0.5 s (timed in benchmarks/bench_import.py,
    not here: a timed unit test fails on a loaded machine): no third-party module but numpy."""
    code = "import naheo_spec\nimport sys\nprint('\\n'.join(sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    top = {m.split(".")[0] for m in out.stdout.split()}
    third_party = {m for m in top - set(sys.stdlib_module_names)
                   if not m.startswith("_") and m not in ("naheo_spec", "numpy")}
    assert not third_party, sorted(third_party)


def test_no_private_imports_and_no_cycles():
    """tools/check_imports.py lists private names imported across modules and import
    cycles; the package must have none."""
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, str(repo / "tools" / "check_imports.py"),
                          str(repo / "naheo_spec")], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout == "", out.stdout


def test_every_runtime_dependency_is_imported_by_the_package():
    """Honest packaging: a dependency the package never imports belongs in an extra."""
    import re
    import tomllib

    from conftest import REPO

    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    module_of = {"xraylarch": "larch", "spc-io": "spc_io"}
    source = "\n".join(p.read_text(encoding="utf-8")
                       for p in (REPO / "naheo_spec").rglob("*.py"))
    for dep in deps:
        dist = re.split(r"[<>=!~; \[]", dep, maxsplit=1)[0]
        mod = module_of.get(dist, dist.replace("-", "_"))
        direct = rf"^\s*(import|from)\s+{re.escape(mod)}\b"
        lazy = rf"(larch_module|import_module)\(\s*[\"']{re.escape(mod)}\b"   # larch: lazily
        assert re.search(direct, source, re.M) or re.search(lazy, source), dist
