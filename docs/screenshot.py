"""Write docs/replay.png: the replay page of one multilateral_5 episode in headless Chromium.

    python docs/screenshot.py   # needs Debian's chromium and the playwright package
"""

import shutil
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from negenv import replay

ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]

events = replay.play("multilateral_5", "guarantees_monitoring", "mixed", seed=0, episode=5)
with tempfile.TemporaryDirectory() as tmp:
    page_path = Path(tmp) / "replay.html"
    replay.write(events, page_path)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=ARGS)
        page = browser.new_page(viewport={"width": 1150, "height": 1500})
        page.goto(page_path.as_uri())
        page.screenshot(path=str(Path(__file__).parent / "replay.png"))
        browser.close()
print("docs/replay.png written")
