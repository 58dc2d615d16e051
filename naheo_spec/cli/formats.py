"""``naheo-spec formats``: the registered file formats."""
from __future__ import annotations

import click

from naheo_spec.cli.common import json_option, print_json


@click.command()
@click.option("--technique", type=click.Choice(["xas", "xps", "raman"]), default=None,
              help="Only this technique's formats (and neutral ones).")
@json_option
def formats(technique, as_json):
    """List the registered file formats: name, technique, what they read, options.

    Formats are recognised by content; `--format NAME` forces one. Third-party readers
    register through the entry-point group `naheo_spec.formats` (see docs/architecture.md).
    """
    from naheo_spec.io.registry import formats as registered

    specs = registered(technique)
    if as_json:
        print_json([s.describe() for s in specs])
        return 0
    width = max(len(s.name) for s in specs)
    for s in sorted(specs, key=lambda s: (s.technique, s.name)):
        opts = f" [options: {', '.join(s.options)}]" if s.options else ""
        click.echo(f"{s.name:<{width}}  {s.technique:<5}  {s.description}{opts}")
    return 0
