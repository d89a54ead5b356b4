"""End to end in a real browser: Playwright drives Debian's Chromium (/usr/bin/chromium)
against the console served by uvicorn on 127.0.0.1, running green-zone faster than real
time. Screenshots go to test-artifacts/ (git-ignored).

Locally the test skips when Chromium is missing; in CI (env CI set) it fails instead:
.ci/run installs the chromium package.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

import pytest

from opencram.console.app import LOOPBACK_NAMES, create_app
from opencram.console.session import Session

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
TIMEOUT_MS = 60_000  # a guard against hanging, not a speed requirement


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        if _in_ci():
            pytest.fail(f"{CHROMIUM} missing: .ci/run must install chromium", pytrace=False)
        pytest.skip(f"{CHROMIUM} not installed (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Server:
    """uvicorn serving one console session in a thread, on 127.0.0.1 at a free port."""

    def __init__(self, session: Session) -> None:
        import uvicorn

        self.session = session
        self.port = _free_port()
        config = uvicorn.Config(
            # as `opencram console` on loopback: only loopback names accepted in Host
            create_app(session, trusted_hosts=LOOPBACK_NAMES),
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        end = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > end or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return f"http://127.0.0.1:{self.port}/"

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(15)


def _open(browser, url: str):
    page = browser.new_page(viewport={"width": 1500, "height": 900})
    page.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    foreign: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: None if r.url.startswith(url) else foreign.append(r.url))
    page.goto(url)
    page.wait_for_selector("#map polygon.zone")
    page.wait_for_selector("#status.paused")
    return page, errors, foreign


def _log(page, kind: str):
    return page.locator(f"#log li[data-kind={kind}]")


def test_green_zone_tracks_alert_and_intercept_in_the_browser(browser):
    ARTIFACTS.mkdir(exist_ok=True)
    session = Session.live("green-zone", speed=10, paused=True)
    with _Server(session) as url:
        page, errors, foreign = _open(browser, url)
        # the offline map: every zone and landmark drawn from the scenario's vector data
        assert page.locator("#map polygon.zone").count() == 9
        assert page.locator("#map circle.landmark").count() == 10
        assert page.locator("#guns .gun").count() == 2
        page.click("#btn-resume")
        page.wait_for_selector("#tracks tbody tr[data-track]")
        page.wait_for_selector("#alerts .alert")
        page.wait_for_selector("#map polygon.zone.alerted")
        # acknowledge the alert on the International Zone: applied and logged by the engine
        page.click('#alerts .alert[data-zone="International Zone"] button.ack')
        page.wait_for_selector('#alerts .alert.acked[data-zone="International Zone"]')
        page.wait_for_selector("#log li.k-engagement_result.kill")
        page.screenshot(path=str(ARTIFACTS / "console-intercept.png"))
        kill = page.locator("#log li.k-engagement_result.kill").first.inner_text()
        assert "intercept: track" in kill and "destroyed by lpws-" in kill
        assert _log(page, "engagement").count() >= 1
        assert page.locator("#map path.kill-mark").count() == 1
        page.wait_for_selector("#tracks tbody tr.destroyed")
        ack = _log(page, "operator").first.inner_text()
        assert "ack_alert International Zone (done)" in ack
        assert page.locator("#map ellipse.ell-impact").count() >= 1
        page.close()
    assert not errors, errors
    assert not foreign, f"the page asked for something off this server: {foreign}"


def test_weapons_hold_on_every_gun_means_no_engagement(browser):
    ARTIFACTS.mkdir(exist_ok=True)
    session = Session.live("green-zone", speed=20, paused=True)
    with _Server(session) as url:
        page, errors, _ = _open(browser, url)
        # paused at T+0, before the first launch (T+5): hold every gun, one by one
        for gun in ("lpws-1", "lpws-2"):
            page.click(f'#guns .gun[data-gun="{gun}"] button[data-action=weapons_hold]')
        page.click("#btn-resume")
        page.wait_for_selector('#guns .gun[data-gun="lpws-2"] button[data-action=weapons_free]')
        page.wait_for_selector("#alerts .alert")
        page.wait_for_selector("#log li[data-kind=run_finished]")
        page.screenshot(path=str(ARTIFACTS / "console-weapons-hold.png"))
        ops = [_log(page, "operator").nth(i).inner_text() for i in range(2)]
        assert sorted(o.split("operator: ")[1] for o in ops) == [
            "weapons_hold lpws-1 (done)",
            "weapons_hold lpws-2 (done)",
        ]
        assert _log(page, "engagement").count() == 0
        assert _log(page, "engagement_result").count() == 0
        assert _log(page, "engagement_withheld").count() >= 1
        assert _log(page, "impact").count() == 2  # both rockets land
        assert page.locator("#guns .state.hold").count() == 2
        page.close()
    assert not errors, errors
    # and the engine agrees with the page
    assert not [e for e in session.backlog if e["kind"] == "engagement"]
