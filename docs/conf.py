"""Sphinx configuration of the naheo_spec documentation.

Build (warnings are errors, as in the test suite)::

    sphinx-build -W --keep-going -b html docs docs/_build/html

Tutorials are MyST-NB notebooks (``docs/tutorials/*.md``): they are executed during the
build and rendered with their outputs and figures. The CLI reference is generated from
the click commands (sphinx-click), the API reference from the numpydoc docstrings.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import naheo_spec  # noqa: E402

project = "naheo_spec"
author = "naheo_spec developers"
copyright = "2026, naheo_spec developers (code MIT; example data: see Citing)"
version = release = naheo_spec.__version__

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_click",
]

source_suffix = {".rst": "restructuredtext", ".md": "myst-nb"}
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "**.ipynb_checkpoints"]
root_doc = "index"

myst_enable_extensions = ["dollarmath", "colon_fence", "deflist"]
myst_heading_anchors = 3
nb_execution_mode = os.environ.get("NAHEO_DOCS_EXECUTE", "cache")
nb_execution_timeout = 600
nb_execution_raise_on_error = True
nb_execution_in_temp = True   # tutorials write files; never into the source tree
nb_execution_cache_path = str(ROOT / "docs" / "_build" / ".jupyter_cache")
nb_merge_streams = True

autosummary_generate = True
autodoc_typehints = "none"
autodoc_member_order = "bysource"
numpydoc_show_class_members = False
numpydoc_validation_checks: set[str] = set()
numpydoc_xref_param_type = False

html_theme = "pydata_sphinx_theme"
html_title = f"naheo_spec {version}"
html_static_path = ["_static"]
html_theme_options = {"navigation_depth": 2, "show_toc_level": 2}

suppress_warnings = ["mystnb.unknown_mime_type"]
nitpicky = False

# References sections are rendered as lists; numpydoc's unused-citation notes are noise.
suppress_warnings += ["ref.citation"]

_BARS = __import__("re").compile(r"(?<![\w`\\|])\|(?=[^\s|])([^|`\n]*?[^\s|\\])\|(?![\w|])")


def _escape_bars(lines):
    """Docstrings write magnitudes as |chi(R)|; in reST that would be a substitution."""
    for i, line in enumerate(lines):
        stripped = line.strip()
        table = stripped.startswith(("+", "| ")) and stripped.endswith(("+", " |"))
        if "|" in line and not table and not stripped.startswith((">>>", "...")):
            lines[i] = _BARS.sub(r"\\|\1\\|", line)


def setup(app):
    app.connect("autodoc-process-docstring", lambda app, what, name, obj, opts, lines:
                _escape_bars(lines))
    app.connect("sphinx-click-process-description", lambda app, ctx, lines: _escape_bars(lines))
    app.connect("sphinx-click-process-options", lambda app, ctx, lines: _escape_bars(lines))
