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


def test_import_time_under_half_a_second():
    code = "import time; t = time.perf_counter(); import naheo_spec; print(time.perf_counter() - t)"
    times = [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                  check=True).stdout) for _ in range(3)]
    assert min(times) < 0.5, times


def test_no_private_imports_and_no_cycles():
    """tools/check_imports.py lists private names imported across modules and import
    cycles; the package must have none."""
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, str(repo / "tools" / "check_imports.py"),
                          str(repo / "naheo_spec")], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout == "", out.stdout
