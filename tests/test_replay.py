"""Replays: the HTML page of an episode of every shipped scenario, opened in headless
Chromium (Debian's chromium, driven by Playwright): no console errors, a row per step."""

import json
import os
import shutil

import pytest

from negenv import replay

SCENARIOS = [
    "bilateral_asymmetric",
    "burden_sharing",
    "lilliput",
    "multilateral_5",
    "rubinstein",
    "unmediated_5",
]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# CI installs chromium and sets this, so that a missing browser fails instead of skipping
REQUIRED = os.environ.get("NEGENV_REQUIRE_BROWSER") == "1"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None or not _has_playwright():
        if REQUIRED:
            pytest.fail("NEGENV_REQUIRE_BROWSER=1 but chromium or playwright is missing")
        pytest.skip("needs Debian's chromium and the playwright package")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield b
        b.close()


def _has_playwright() -> bool:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False
    return True


def _open(browser, path):
    page = browser.new_page()
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    own = path.as_uri()
    page.on("request", lambda r: errors.append(f"fetched {r.url}") if r.url != own else None)
    page.goto(own)
    return page, errors


@pytest.mark.parametrize("name", SCENARIOS)
def test_the_replay_of_every_scenario_opens_cleanly_and_shows_each_step(name, browser, tmp_path):
    events = replay.play(name, "guarantees_monitoring", "mixed", seed=1, episode=2)
    record = events[-1]["record"]
    out = tmp_path / f"{name}.html"
    replay.write(events, out)
    page, errors = _open(browser, out)
    try:
        rows = page.locator("tr.step")
        assert rows.count() == record["steps"]
        cells = rows.evaluate_all("rs => rs.map(r => [r.dataset.phase, r.cells[2].innerText])")
        talks = [int(r) for phase, r in cells if phase == "negotiate"]
        assert talks == list(range(len(talks)))
        if record["agreed_round"] >= 0:
            assert talks[-1] == record["agreed_round"]
        steps = [e for e in events if e["type"] == "step"]
        assert [int(r) for _, r in cells] == [e["round"] for e in steps]
        assert page.locator("#outcome-status").inner_text() == record["status"]
        assert page.locator("svg").count() >= 2
        assert errors == []  # nothing fetched: the page is self-contained
    finally:
        page.close()


def test_the_replay_shows_a_language_model_s_prompts_answers_and_errors(browser, tmp_path):
    events = replay.play("bilateral_asymmetric", "split", "threshold", seed=0, episode=0)
    decision = {
        "type": "llm_decision",
        "call": 0,
        "row": 0,
        "agent": "mediator",
        "phase": "negotiate",
        "round": 0,
        "stage": 0,
        "prompt": "Now: <the view>",
        "tries": [
            {"reply": "I propose a fair split", "error": "the reply is not valid JSON"},
            {"reply": '{"monitoring": 1}', "error": None},
        ],
        "action": {"monitoring": 1},
        "failed": False,
    }
    out = tmp_path / "llm.html"
    replay.write(events + [decision], out)
    page, errors = _open(browser, out)
    try:
        details = page.locator("details.llm")
        assert details.count() == 1
        details.locator("summary").click()
        text = details.inner_text()
        assert "I propose a fair split" in text and "not valid JSON" in text
        assert "<the view>" in text  # escaped, shown as text
        assert errors == []
    finally:
        page.close()


def test_a_log_round_trips_and_bad_logs_are_refused(tmp_path):
    events = replay.play("rubinstein", None, "threshold", seed=0, episode=1)
    log = tmp_path / "e.jsonl"
    log.write_text("".join(json.dumps(e) + "\n" for e in events))
    assert replay.render(replay.read_log(log)) == replay.render(events)
    with pytest.raises(ValueError, match="no header event"):
        replay.render(events[1:])
    log.write_text("{not json\n")
    with pytest.raises(ValueError, match="not an episode log"):
        replay.read_log(log)
