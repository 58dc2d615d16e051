"""In a Jupyter kernel, XANES, EXAFS, XPS and Raman results display as HTML tables."""
from __future__ import annotations

import re

import pytest

CODE = r'''
import warnings
warnings.simplefilter("ignore")
from naheo_spec import datasets
from naheo_spec.xas.xanes import analyze_xanes
from naheo_spec.xas.exafs import analyze_exafs
from naheo_spec.xps.pipeline import analyze_region
from naheo_spec.raman.pipeline import analyze_raman
from naheo_spec.io import read
xanes = analyze_xanes(datasets.load("mno2_mn_k"))
exafs = analyze_exafs(datasets.load("feo_fe_k_exafs"))
xps = analyze_region(datasets.load("xps_mn_references")["MnO2 Mn 2p"], model="mn2p")
raman = analyze_raman(datasets.load("raman_calcite"), preset="calcite")
'''


def _kernel_outputs(code_cells):
    jupyter_client = pytest.importorskip("jupyter_client")
    km, kc = jupyter_client.manager.start_new_kernel(kernel_name="python3")
    try:
        outs = []
        for code in code_cells:
            msg_id = kc.execute(code)
            got = []
            while True:
                msg = kc.get_iopub_msg(timeout=300)
                if msg["parent_header"].get("msg_id") != msg_id:
                    continue
                t = msg["msg_type"]
                if t == "error":
                    raise AssertionError("\n".join(msg["content"]["traceback"]))
                if t in ("execute_result", "display_data"):
                    got.append(msg["content"]["data"])
                if t == "status" and msg["content"]["execution_state"] == "idle":
                    break
            outs.append(got)
        return outs
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def test_results_render_as_html_tables():
    outs = _kernel_outputs([CODE, "xanes", "exafs", "xps", "raman"])
    for name, got in zip(("xanes", "exafs", "xps", "raman"), outs[1:]):
        assert got and "text/html" in got[0], name
        html = got[0]["text/html"]
        text = re.sub(r"<img [^>]*>", "", html)
        assert "<table" in text and len(text) < 20000, name
        # each result carries its own small figure, inline, kept small
        images = re.findall(r"<img [^>]*src='data:image/png;base64,([^']+)'", html)
        assert len(images) == 1 and len(images[0]) < 80000, name
        assert len(got[0]["text/plain"]) < 400, name          # a one-line repr, not a dump
