"""The ``naheo-spec`` command: one entry point, subcommands imported only when run.

``naheo-spec --help`` must answer quickly, so this module imports only click;
each subcommand lives in its own module and is loaded by :class:`LazyGroup`.
"""
from __future__ import annotations

import importlib
import sys

import click

from naheo_spec import __version__

#: subcommand name -> ("module:attribute", one-line help shown by --help)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "info": ("naheo_spec.cli.info:info", "Show what was read from each file, block by block."),
    "formats": ("naheo_spec.cli.formats:formats", "List the registered file formats."),
    "convert": ("naheo_spec.cli.convert:convert", "Convert spectra to the HDF5 store, XDI or CSV."),
    "xanes": ("naheo_spec.cli.xanes:xanes", "XANES: normalize, E0, foil calibration, oxidation state."),
    "exafs": ("naheo_spec.cli.exafs:exafs", "EXAFS: background, chi(k), Fourier transform, shell fits."),
    "xps": ("naheo_spec.cli.xps:xps", "XPS: charge reference, backgrounds, multiplet fits, valence fractions."),
    "raman": ("naheo_spec.cli.raman:raman", "Raman: spikes, baselines, band fits, carbonate and series tracking."),
    "batch": ("naheo_spec.cli.batch:batch", "Run a batch config (TOML): many files or a stack, resumable."),
    "watch": ("naheo_spec.cli.watch:watch", "Process scans as they land in a folder; keep an HTML report up to date."),
    "report": ("naheo_spec.cli.report:report", "Write the self-contained HTML report of a batch store."),
    "demo": ("naheo_spec.cli.demo:demo", "Build the synthetic demo data set and run every pipeline on it."),
}


class LazyGroup(click.Group):
    """A click Group whose subcommands are imported on first use."""

    def list_commands(self, ctx):
        return list(SUBCOMMANDS)

    def get_command(self, ctx, name):
        if name not in SUBCOMMANDS:
            return None
        target, _ = SUBCOMMANDS[name]
        module, attr = target.split(":")
        return getattr(importlib.import_module(module), attr)

    def format_commands(self, ctx, formatter):
        # Listing must not import the subcommand modules (keeps --help fast).
        rows = [(name, help_) for name, (_, help_) in SUBCOMMANDS.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="naheo-spec")
@click.option("--debug", is_flag=True, help="Show full tracebacks on errors.")
@click.pass_context
def cli(ctx, debug):
    """naheo-spec: spectroscopy pipelines for sodium-ion layered-oxide cathodes.

    Every subcommand accepts --json to print machine-readable results on stdout.
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


def main(argv: list[str] | None = None) -> int:
    """Run the CLI with ``argv`` (default: sys.argv[1:]) and return the exit code.

    Errors raised on purpose (:class:`naheo_spec.errors.NaheoError`) are printed as one
    line on stderr with exit code 1; ``--debug`` shows the traceback instead.
    """
    from naheo_spec.errors import NaheoError

    args = sys.argv[1:] if argv is None else list(argv)
    debug = "--debug" in args
    try:
        rv = cli.main(args=args, prog_name="naheo-spec", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        return 130
    except click.exceptions.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except NaheoError as exc:
        if debug:
            raise
        from naheo_spec.cli.common import cli_message

        click.echo(f"error: {cli_message(exc)}", err=True)
        return 1
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        return 130
    except Exception as exc:  # unexpected: still no bare traceback unless --debug
        if debug:
            raise
        click.echo(f"internal error: {type(exc).__name__}: {exc} (rerun with --debug for the traceback; "
                   "please report it)", err=True)
        return 3
    # Subcommands return their exit code (non-zero when some inputs failed).
    return rv if isinstance(rv, int) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
