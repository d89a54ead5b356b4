"""The console's web API (FastAPI's TestClient, no browser): access token off loopback,
same-origin rule, operator actions reaching the running engine and coming back as
``operator`` events, clock controls, and the replay of a run folder."""

from __future__ import annotations

import contextlib
import json
import threading
import time
import warnings

import pytest
from starlette.websockets import WebSocketDisconnect

from opencram.c2.events import parse_event
from opencram.cli.console import is_loopback, resolve_token
from opencram.console.session import Pacer, Session, StoppedError

with warnings.catch_warnings():  # starlette's notice about its httpx-based client
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from opencram.console.app import LOOPBACK_NAMES, create_app

TOKEN = "s3cret-token-for-tests"
WAIT_S = 60.0  # generous guard: a hung worker fails the test instead of hanging it


def _wait(pred, what: str, session=None):
    end = time.monotonic() + WAIT_S
    while time.monotonic() < end:
        if pred():
            return
        if session is not None and session.status == "error":
            pytest.fail(f"the run failed: {session.error}")
        time.sleep(0.02)
    pytest.fail(f"timed out waiting for {what}")


def _kinds(session, kind):
    return [e for e in session.backlog if e["kind"] == kind]


@pytest.fixture(scope="module")
def green_paused():
    """A live green-zone session, paused at T+0 and not yet started."""
    return Session.live("green-zone", speed=1000, paused=True)


# --- access ------------------------------------------------------------------------------


def test_loopback_needs_no_token_and_other_hosts_get_one():
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5")
    assert not is_loopback("console.example")
    assert resolve_token("127.0.0.1", None) is None
    tok = resolve_token("0.0.0.0", None)
    assert tok and len(tok) >= 20 and tok != resolve_token("0.0.0.0", None)
    assert resolve_token("0.0.0.0", TOKEN) == TOKEN


def test_requests_without_the_token_are_refused(green_paused):
    app = create_app(green_paused, token=TOKEN, start=False)
    with TestClient(app) as c:
        for path in ("/", "/static/console.js", "/api/state", "/api/events"):
            assert c.get(path).status_code == 401, path
        assert c.get("/api/state", params={"token": "wrong-token"}).status_code == 401
        r = c.post("/api/action", json={"action": "weapons_hold", "target": "*"})
        assert r.status_code == 401
        assert c.post("/api/control", json={"op": "resume"}).status_code == 401
        with pytest.raises(WebSocketDisconnect) as exc, c.websocket_connect("/ws") as ws:
            ws.receive_json()
        assert exc.value.code == 1008
        # nothing reached the engine
        assert green_paused.controls.drain() == []


def test_the_token_opens_page_api_and_websocket(green_paused):
    app = create_app(green_paused, token=TOKEN, start=False)
    with TestClient(app) as c:
        page = c.get("/", params={"token": TOKEN})
        assert page.status_code == 200 and "opencram console" in page.text
        # the page's script and style are then fetched with the cookie the page set
        assert c.get("/static/console.js").status_code == 200
        assert "opencram_token" in page.headers["set-cookie"]
        c.cookies.clear()
        assert c.get("/static/console.js").status_code == 401
        h = {"X-Opencram-Token": TOKEN}
        assert c.get("/api/state", headers=h).json()["mode"] == "live"
        auth = {"Authorization": f"Bearer {TOKEN}"}
        assert c.get("/api/state", headers=auth).status_code == 200
        with c.websocket_connect(f"/ws?token={TOKEN}") as ws:
            hello = ws.receive_json()
        assert hello["type"] == "hello"
        assert {z["name"] for z in hello["map"]["zones"]} >= {"US Embassy", "International Zone"}


def test_cross_origin_posts_and_websockets_are_refused(green_paused):
    app = create_app(green_paused, start=False)
    with TestClient(app) as c:
        evil = {"Origin": "http://evil.example"}
        r = c.post("/api/action", json={"action": "weapons_hold", "target": "*"}, headers=evil)
        assert r.status_code == 403
        with pytest.raises(WebSocketDisconnect), c.websocket_connect("/ws", headers=evil) as ws:
            ws.receive_json()
        same = {"Origin": "http://testserver"}
        assert c.post("/api/control", json={"op": "pause"}, headers=same).status_code == 200
        assert green_paused.controls.drain() == []


def test_on_loopback_only_loopback_host_names_are_accepted(green_paused):
    # a page whose own name was pointed at 127.0.0.1 (DNS rebinding) sends that name
    app = create_app(green_paused, start=False, trusted_hosts=LOOPBACK_NAMES)
    with TestClient(app, base_url="http://127.0.0.1:8765") as c:
        assert c.get("/api/state").status_code == 200
        assert c.get("/api/state", headers={"Host": "localhost:8765"}).status_code == 200
        rebound = {"Host": "attacker.example:8765", "Origin": "http://attacker.example:8765"}
        assert c.get("/", headers=rebound).status_code == 403
        r = c.post("/api/action", json={"action": "weapons_hold", "target": "*"}, headers=rebound)
        assert r.status_code == 403
    with (
        TestClient(app, base_url="http://attacker.example:8765") as c,
        pytest.raises(WebSocketDisconnect),
        c.websocket_connect("/ws") as ws,
    ):
        ws.receive_json()
    assert green_paused.controls.drain() == []


# --- a live run ----------------------------------------------------------------------------


def test_actions_reach_the_engine_and_are_logged():
    session = Session.live("green-zone", speed=1000, paused=True)
    app = create_app(session)
    with TestClient(app) as c:
        assert c.get("/api/state").json()["paused"] is True
        ok = c.post("/api/action", json={"action": "weapons_hold", "target": "lpws-1"})
        assert ok.status_code == 202
        # queued in the run's OperatorControls until the engine applies it
        assert session.controls.weapons_hold == set()
        bad = c.post("/api/action", json={"action": "mark_friendly", "target": "abc"})
        assert bad.status_code == 202  # the engine refuses it, with its reason, in the log
        assert c.post("/api/action", json={"action": "fire", "target": "*"}).status_code == 400
        assert c.post("/api/control", json={"op": "rewind"}).status_code == 400
        assert c.post("/api/control", json={"op": "speed", "value": 0}).status_code == 400
        # step one simulated second: the engine applies the queued actions, then pauses
        st = c.post("/api/control", json={"op": "step", "value": 1.0}).json()
        assert st["paused"] is True
        _wait(lambda: len(_kinds(session, "operator")) == 2, "the operator events", session)
        assert session.controls.weapons_hold == {"lpws-1"}
        _wait(lambda: session.pacer.t_s >= 1.0, "the step", session)
        assert session.pacer.paused and session.pacer.t_s == pytest.approx(1.0)
        assert not _kinds(session, "launch")  # rocket-1 launches at T+5: still paused
        # by T+4.5 the friendly helicopter is a confirmed track: the operator marks it
        c.post("/api/control", json={"op": "step", "value": 3.5})
        _wait(lambda: session.pacer.t_s >= 4.5 and session.pacer.paused, "the step", session)
        heli = _kinds(session, "track")[0]["track_id"]
        ok = c.post("/api/action", json={"action": "mark_friendly", "target": str(heli)})
        assert ok.status_code == 202
        c.post("/api/control", json={"op": "resume"})
        _wait(lambda: session.status == "finished", "the end of the run", session)
        state = c.get("/api/state").json()
        assert state["weapons_hold"] == ["lpws-1"]
        assert state["friendly_tracks"] == [heli]
    acts = {(e["action"], e["target"]): e for e in _kinds(session, "operator")}
    assert len(acts) == 3
    assert acts[("weapons_hold", "lpws-1")]["accepted"]
    assert not acts[("mark_friendly", "abc")]["accepted"]
    assert "abc" in acts[("mark_friendly", "abc")]["note"]
    marked = acts[("mark_friendly", str(heli))]
    assert marked["accepted"] and 4.5 <= marked["t_s"] <= 4.55  # the tick after the request
    later = [e for e in _kinds(session, "zone_alert") if e["t_s"] > marked["t_s"]]
    assert later and all(heli not in e["track_ids"] for e in later)
    # the held gun never fired; the other one did
    guns = {e["gun"] for e in _kinds(session, "engagement")}
    assert guns == {"lpws-2"}
    assert ("lpws-1", "hold") in {(e["gun"], e["state"]) for e in _kinds(session, "gun")}
    # events carry their local-frame position for the map
    track = _kinds(session, "track")[0]
    assert {"e_m", "n_m", "lat", "lon"} <= set(track)


def _settled_len(items: list, quiet_s: float = 0.3, timeout_s: float = 10.0) -> int:
    """The length of ``items`` once it has not changed for ``quiet_s`` (bounded wait)."""
    end = time.monotonic() + timeout_s
    n = len(items)
    while time.monotonic() < end:
        time.sleep(quiet_s)
        if len(items) == n:
            return n
        n = len(items)
    return n


def test_a_late_client_gets_the_backlog_then_the_live_stream():
    session = Session.live("green-zone", speed=1000, paused=True)
    app = create_app(session)
    with TestClient(app) as c:
        c.post("/api/control", json={"op": "step", "value": 12.0})
        _wait(lambda: session.pacer.t_s >= 12.0 and session.pacer.paused, "the step", session)
        # the pacer pauses before the worker has fanned out its last tick's events: wait
        # until the paused engine's backlog stops growing before counting it
        n_before = _settled_len(session.backlog)
        with c.websocket_connect("/ws") as ws:
            assert ws.receive_json()["type"] == "hello"
            first = ws.receive_json()
            assert first["type"] == "events" and len(first["events"]) == n_before
            c.post("/api/control", json={"op": "resume"})
            got = list(first["events"])
            while not got or got[-1]["kind"] != "run_finished":
                msg = ws.receive_json()
                if msg["type"] == "events":
                    got.extend(msg["events"])
        assert got == session.backlog  # nothing missed, nothing twice


def test_pacer_step_runs_exactly_the_span_then_pauses():
    p = Pacer(speed=1.0, paused=True)
    ticks = [round(0.05 * k, 2) for k in range(1, 200)]
    reached = []

    def worker():
        with contextlib.suppress(StoppedError):
            for t in ticks:
                p.wait_until(t)
                reached.append(t)

    th = threading.Thread(target=worker, daemon=True)
    th.start()
    time.sleep(0.05)
    assert reached == []  # paused
    p.step(2.0)
    _wait(lambda: reached and reached[-1] == 2.0 and p.paused, "the step")
    time.sleep(0.1)
    assert reached[-1] == 2.0 and p.t_s == 2.0
    p.stop()
    th.join(5)
    assert not th.is_alive()
    with pytest.raises(ValueError, match="speed"):
        p.set_speed(-1)


# --- replay -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory):
    from opencram.analysis.runfolder import execute

    out = tmp_path_factory.mktemp("run") / "green-zone"
    execute("green-zone", out, on_progress=None)
    return out


def test_replay_streams_the_recorded_events_and_refuses_actions(run_folder):
    recorded = [json.loads(line) for line in (run_folder / "events.jsonl").read_text().splitlines()]
    session = Session.replay(run_folder, speed=1000, paused=True)
    app = create_app(session)
    with TestClient(app) as c:
        st = c.get("/api/state").json()
        assert st["mode"] == "replay" and st["scenario"] == "green-zone"
        r = c.post("/api/action", json={"action": "weapons_hold", "target": "*"})
        assert r.status_code == 409
        c.post("/api/control", json={"op": "resume"})
        _wait(lambda: session.status == "finished", "the end of the replay", session)
        got = c.get("/api/events").json()["events"]
    assert [_without_enu(g) for g in got] == recorded
    for want in recorded[:50]:
        parse_event(json.dumps(want))
    assert any(e["kind"] == "engagement_result" and e["killed"] for e in got)


def _without_enu(d):
    """An event as the console sent it, minus the local-frame positions it added."""
    out = {k: v for k, v in d.items() if k not in ("e_m", "n_m")}
    if "footprints" in out:
        out["footprints"] = [_without_enu(f) for f in out["footprints"]]
    return out


def test_bad_replay_folders_are_one_line_user_errors(tmp_path, run_folder, cli):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "scenario.yaml").write_text((run_folder / "scenario.yaml").read_text())
    lines = (run_folder / "events.jsonl").read_text().splitlines()
    lines[3] = '{"kind": "launch", "t_s": "soon"}'
    (bad / "events.jsonl").write_text("\n".join(lines) + "\n")
    r = cli("console", "--replay", str(bad))
    assert r.returncode == 2, r.stderr
    assert r.stderr.count("\n") == 1 and "events.jsonl:4:" in r.stderr
    r = cli("console", "--replay", str(tmp_path / "nowhere"))
    assert r.returncode == 2 and "not a folder" in r.stderr
    r = cli("console", "green-zone", "--replay", str(run_folder))
    assert r.returncode == 2 and "not both" in r.stderr
    r = cli("console", "--speed", "0")
    assert r.returncode == 2 and "speed" in r.stderr and "Traceback" not in r.stderr
    r = cli("console", "--host", "0.0.0.0", "--token", "short")
    assert r.returncode == 2 and "--token" in r.stderr
