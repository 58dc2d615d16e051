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
