"""watch picks up a copied file within seconds (a partial file is waited for) and the report
shows it; naheo-spec report writes the same self-contained page; a real headless browser
renders it where one is installed."""
from __future__ import annotations

import re
import shutil
import subprocess
import threading
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest

from naheo_spec.batch.watch import WatchState, ready_files


class _Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.imgs, self.tables, self.links, self.scripts, self.text = [], 0, [], 0, []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img":
            self.imgs.append(a.get("src", ""))
        elif tag == "table":
            self.tables += 1
        elif tag in ("link", "script"):
            self.scripts += 1
            self.links.append(a.get("href") or a.get("src"))

    def handle_data(self, data):
        self.text.append(data)


def _parse(path: Path) -> _Page:
    p = _Page()
    p.feed(path.read_text())
    return p


def test_partial_files_wait_until_stable(tmp_path):
    f = tmp_path / "a.xdi"
    f.write_text("# half")
    st = WatchState()
    assert ready_files(tmp_path, ["*.xdi"], st, stable=1.0, now=0.0) == []
    assert ready_files(tmp_path, ["*.xdi"], st, stable=1.0, now=0.5) == []
    with open(f, "a") as fh:                         # still growing
        fh.write(" and more")
    assert ready_files(tmp_path, ["*.xdi"], st, stable=1.0, now=1.2) == []
    assert ready_files(tmp_path, ["*.xdi"], st, stable=1.0, now=1.9) == []
    assert ready_files(tmp_path, ["*.xdi"], st, stable=1.0, now=2.3) == [f]
    (tmp_path / ".b.xdi").write_text("x")              # hidden, temporary, other patterns
    (tmp_path / "c.xdi.part").write_text("x")
    (tmp_path / "d.txt").write_text("x")
    assert ready_files(tmp_path, ["*.xdi"], st, stable=0.0, now=9.0) == [f]


def test_watch_picks_up_a_copied_file(tmp_path, make_scans, write_config):
    from naheo_spec.batch.watch import watch

    src, _ = make_scans(tmp_path / "incoming", 3)
    beam = tmp_path / "beam"
    beam.mkdir()
    shutil.copy(src[0], beam / src[0].name)
    cfg = write_config(tmp_path, """
        [input]
        files = ["beam/*.xdi"]
        [xanes]
        [output]
        store = "live.h5"
        summary = "live.csv"
    """)
    report = tmp_path / "report.html"
    stop, updates = threading.Event(), []

    def on_update(summary, files):
        updates.append((time.monotonic(), [f.name for f in files], summary.done))

    th = threading.Thread(target=watch, args=(beam, cfg), daemon=True,
                          kwargs=dict(poll=0.2, stable=0.3, stop=stop, on_update=on_update,
                                      timeout=60))
    th.start()
    t0 = time.monotonic()
    while not any(src[0].name in u[1] for u in updates) and time.monotonic() - t0 < 30:
        time.sleep(0.05)
    assert report.is_file() and src[0].name in report.read_text()
    # a file copied in is processed and shown within a few seconds
    t_copy = time.monotonic()
    shutil.copy(src[1], beam / src[1].name)
    while not any(src[1].name in u[1] for u in updates) and time.monotonic() - t_copy < 30:
        time.sleep(0.05)
    latency = next(u[0] for u in updates if src[1].name in u[1]) - t_copy
    stop.set()
    th.join(10)
    assert latency < 5.0, latency
    page = report.read_text()
    assert src[1].name in page and src[0].name in page
    rows = (tmp_path / "live.csv").read_text().splitlines()
    assert len(rows) == 3
    print(f"watch latency (copy -> store and report rewritten): {latency:.2f} s")


@pytest.fixture
def finished_store(tmp_path, make_scans, write_config, cli):
    make_scans(tmp_path / "scans", 6, bad=1)
    cfg = write_config(tmp_path, """
        [input]
        files = ["scans/*.xdi"]
        [xanes]
        [exafs]
        [output]
        store = "res.h5"
    """)
    cli("batch", cfg)
    return tmp_path / "res.h5"


def test_report_is_self_contained(finished_store, cli, tmp_path):
    out = tmp_path / "page.html"
    rc, _, err = cli("report", finished_store, "-o", out)
    assert rc == 0, err
    page = _parse(out)
    assert page.tables >= 3 and len(page.imgs) >= 2
    assert all(src.startswith("data:image/png;base64,") for src in page.imgs)
    assert page.scripts == 0 and not any(page.links)          # nothing to fetch
    text = " ".join(page.text)
    assert "Failures (2)" in text and "xanes: 6 scan(s)" in text
    rc, _, err = cli("report", finished_store, "-o", out)     # never overwritten silently
    assert rc == 1 and "exists; pass --overwrite" in err
    rc, _, err = cli("report", tmp_path / "scans" / "scan_0000_Fe2O3_311_EXAFS.xdi", "-o",
                     tmp_path / "x.html")
    assert rc == 1 and err.startswith("error: ") and "not a readable HDF5 store" in err


def test_report_in_a_real_headless_browser(finished_store, cli, tmp_path):
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("chromium is not installed (apt-get install chromium)")
    out = tmp_path / "page.html"
    cli("report", finished_store, "-o", out)
    args = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=5000"]
    dom = subprocess.run(args + ["--dump-dom", out.as_uri()], capture_output=True, text=True,
                         timeout=120)
    assert "naheo-spec batch report" in dom.stdout
    # every embedded figure decoded by the browser (naturalWidth > 0 after load)
    probe = tmp_path / "probe.html"
    probe.write_text(out.read_text().replace(
        "</body>", "<script>window.onload=()=>{const i=[...document.images];"
                   "document.title='imgs:'+i.length+':'+i.filter(x=>x.naturalWidth>0).length}"
                   "</script></body>"))
    dom = subprocess.run(args + ["--dump-dom", probe.as_uri()], capture_output=True, text=True,
                         timeout=120)
    m = re.search(r"<title>imgs:(\d+):(\d+)</title>", dom.stdout)
    assert m and int(m.group(1)) >= 2 and m.group(1) == m.group(2), dom.stdout[:500]
    shot = tmp_path / "shot.png"
    subprocess.run(args + [f"--screenshot={shot}", "--window-size=1200,1600", out.as_uri()],
                   capture_output=True, timeout=120)
    assert shot.is_file() and shot.stat().st_size > 10_000
