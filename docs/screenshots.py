"""Make the README's screenshots of the dashboard, with the demo's workload.

    make screenshots        # writes docs/screenshot-{overview,jobs,job}.png

A private redis-server, the demo's jobs (``jobbertrack.cli.demo.Workload``:
progress, failures, a worker that dies), a few jobs left waiting and running,
the app in a real uvicorn, and Debian's chromium driven by Playwright.
"""

from __future__ import annotations

import shutil
import sys
import threading
import time
from pathlib import Path
from urllib.parse import quote

import uvicorn
from playwright.sync_api import sync_playwright

import jobbertrack
from jobbertrack.cli.demo import Workload
from jobbertrack.testing import RedisServer, free_port
from jobbertrack.web import create_app

DOCS = Path(__file__).resolve().parent
SIZE = {"width": 1280, "height": 800}


def fill(track: jobbertrack.Handler) -> str:
    """The demo's workload, run to its end, plus jobs still waiting and running;
    returns the id of a failed job (for the detail page)."""
    work = Workload(track, 40, 5, seed=7)
    work.start()
    while work.busy:
        time.sleep(0.2)
    deadline = time.monotonic() + 10
    while track.count("running") and time.monotonic() < deadline:  # the dead worker's job, once its lease ends
        track.sweep()
        time.sleep(0.2)
    for n, (name, step, total) in enumerate(
        [("export orders-2026-11.csv", 7, 12), ("transcode clip-41.mp4", 2, 9), ("report week-48", 30, 40)]
    ):
        job = track.create(3600, name=name, data={"input": name.split()[-1]})
        job.start(lease=3600)
        job.set_progress(step, total, ["exporting rows", "encoding", "aggregating"][n])
    for name in ("invoice INV-0042", "resize photo-101.jpg"):
        track.create(3600, name=name, data={"input": name.split()[-1]})
    failed = track.list("failed", limit=1)
    return failed[0].id


def main() -> int:
    browser = shutil.which("chromium")
    if browser is None:
        print("screenshots need Debian's chromium (apt-get install chromium)", file=sys.stderr)
        return 1
    with RedisServer() as server:
        track = jobbertrack.Handler(server.client(), namespace="demo")
        failed_id = fill(track)
        port = free_port()
        app = create_app(jobbertrack.Handler(server.client(), namespace="demo"))
        web = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        thread = threading.Thread(target=web.run, daemon=True)
        thread.start()
        while not web.started:
            time.sleep(0.05)
        base = f"http://127.0.0.1:{port}"
        pages = {"overview": "/", "jobs": "/jobs", "job": f"/jobs/{quote(failed_id, safe='')}"}
        with sync_playwright() as p:
            chrome = p.chromium.launch(executable_path=browser, args=["--no-sandbox"])
            page = chrome.new_page(viewport=SIZE)
            for name, path in pages.items():
                page.goto(base + path)
                page.wait_for_selector("#jt-live.on")
                page.screenshot(path=str(DOCS / f"screenshot-{name}.png"), full_page=name != "jobs")
                print(f"docs/screenshot-{name}.png")
            chrome.close()
        web.should_exit = True
        thread.join(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
