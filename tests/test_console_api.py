"""The console's web API (FastAPI's TestClient, no browser): access token off loopback,
same-origin rule, operator actions reaching the running engine and coming back as
``operator`` events, clock controls, and the replay of a run folder."""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import json
import shutil
import threading
import time
import warnings

import pytest
from starlette.websockets import WebSocketDisconnect

from opencram.c2.events import parse_event
from opencram.cli import console as console_cmd
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
        assert st["paused"] is False  # running the step; paused again at its end
        _wait(lambda: len(_kinds(session, "operator")) == 2, "the operator events", session)
        assert session.controls.weapons_hold == {"lpws-1"}
        _wait(lambda: session.pacer.paused, "the end of the step", session)
        assert session.pacer.t_s == pytest.approx(1.0)
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


def test_a_late_client_gets_the_backlog_then_the_live_stream():
    session = Session.live("green-zone", speed=1000, paused=True)
    app = create_app(session)
    with TestClient(app) as c:
        c.post("/api/control", json={"op": "step", "value": 12.0})
        _wait(lambda: session.pacer.t_s >= 12.0 and session.pacer.paused, "the step", session)
        # paused means the worker has fanned out every event of the last tick it showed
        n_before = len(session.backlog)
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


class _Inbox:
    """A client's queue on its own asyncio loop (in a thread), read with a timeout: what
    a browser would receive, without a browser."""

    def __init__(self, session: Session) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.queue: asyncio.Queue = asyncio.Queue()
        self.backlog = session.subscribe(self.loop, self.queue)

    def next(self) -> dict:
        get = asyncio.wait_for(self.queue.get(), WAIT_S)
        return asyncio.run_coroutine_threadsafe(get, self.loop).result(WAIT_S + 5)

    def until(self, pred, what: str) -> dict:
        end = time.monotonic() + WAIT_S
        while time.monotonic() < end:
            msg = self.next()
            if pred(msg):
                return msg
        pytest.fail(f"no message: {what}")

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


def _state(msg: dict, **want) -> bool:
    return msg["type"] == "state" and all(msg[k] == v for k, v in want.items())


def test_a_live_run_waits_for_its_first_client():
    session = Session.live("green-zone", speed=1000)
    session.start()
    inbox = None
    try:
        time.sleep(0.5)  # at 1000x, 0.5 s would be the whole run if the clock ran
        st = session.state()
        assert st["status"] == "waiting" and not st["paused"] and st["t_s"] == 0.0
        assert not _kinds(session, "launch")
        assert {e["kind"] for e in session.backlog} <= {"run_started", "truth", "gun"}
        inbox = _Inbox(session)  # the first client: the clock starts from T+0
        inbox.until(lambda m: _state(m, status="running"), "the clock starting")
        _wait(lambda: _kinds(session, "launch"), "the first launch", session)
    finally:
        session.stop()
        if inbox is not None:
            inbox.close()


def test_start_now_runs_the_clock_with_no_client():
    session = Session.live("green-zone", speed=1000, start_now=True)
    session.start()
    try:
        assert session.state()["status"] == "running"
        _wait(lambda: _kinds(session, "launch"), "the first launch", session)
    finally:
        session.stop()


def test_the_command_passes_start_now_to_the_session(monkeypatch):
    made, served = [], []

    def live(scenario, **kwargs):
        made.append(kwargs)
        return f"session of {scenario}"

    monkeypatch.setattr(Session, "live", staticmethod(live))
    monkeypatch.setattr(console_cmd, "serve", lambda *a: served.append(a))
    monkeypatch.setattr(console_cmd, "check_port_free", lambda host, port: None)
    console_cmd.console("green-zone", start_now=True)
    console_cmd.console("green-zone")
    assert [k["start_now"] for k in made] == [True, False]
    assert served[0][0] == "session of green-zone"


def test_a_pause_is_shown_only_once_the_ticks_events_are_out():
    """Paused at T: the backlog holds every event up to T and none after (events come in
    time order, so the count equals that of the finished run's events up to T)."""
    session = Session.live("green-zone", speed=40, start_now=True)
    session.start()
    try:
        seen = []
        for _ in range(6):
            session.control("resume")
            time.sleep(0.04)
            session.control("pause")
            assert session.pacer.paused
            seen.append((session.pacer.t_s, len(session.backlog)))
            time.sleep(0.03)
            assert (session.pacer.t_s, len(session.backlog)) == seen[-1]  # nothing more
        session.control("speed", 1000)
        session.control("resume")
        _wait(lambda: session.status == "finished", "the end of the run", session)
    finally:
        session.stop()
    times = [e["t_s"] for e in session.backlog]
    assert times == sorted(times)
    assert len({t for t, _ in seen}) > 1  # the clock did move between the pauses
    for t, n in seen:
        assert n == bisect.bisect_right(times, t + 1e-9), (t, n)


def test_the_end_of_a_step_and_every_control_are_pushed_at_once():
    session = Session.live("green-zone", speed=1000, paused=True)
    session.start()
    inbox = _Inbox(session)
    try:
        session.control("step", 2.0)
        # the step's end reaches the client as a state message, with its events before it
        msg = inbox.until(lambda m: _state(m, paused=True, t_s=2.0), "the step's end")
        assert msg["status"] == "running"
        n = len(session.backlog)
        session.control("speed", 4)
        inbox.until(lambda m: _state(m, speed=4.0), "the new speed")
        # paused: nothing more runs, and a pause sent again is still answered at once
        session.control("pause")
        inbox.until(lambda m: _state(m, paused=True, speed=4.0), "the pause")
        assert len(session.backlog) == n and session.pacer.t_s == 2.0
    finally:
        session.stop()
        inbox.close()


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
    shutil.copytree(run_folder / "layers", bad / "layers")  # the scenario's site layer
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


def _recorded(run_folder) -> list[dict]:
    return [json.loads(line) for line in (run_folder / "events.jsonl").read_text().splitlines()]


def _seek(c, t_s: float) -> dict:
    r = c.post("/api/control", json={"op": "seek", "value": t_s})
    assert r.status_code == 200, r.text
    return r.json()


def test_seek_in_a_replay_shows_the_run_as_it_was_then(run_folder):
    recorded = _recorded(run_folder)
    session = Session.replay(run_folder, speed=1000, paused=True)
    with TestClient(create_app(session)) as c:
        inbox = _Inbox(session)
        try:
            for t in (25.0, 4.0):  # forward past the intercept, then back before a launch
                st = _seek(c, t)
                assert st["t_s"] == t and st["paused"] is True
                want = [e for e in recorded if e["t_s"] <= t]
                got = c.get("/api/events").json()["events"]
                assert [_without_enu(e) for e in got] == want
                reset = inbox.until(
                    lambda m, t=t: m["type"] == "reset" and m["state"]["t_s"] == t, "reset"
                )
                assert reset["events"] == got
            assert any(e["kind"] == "engagement_result" for e in recorded if e["t_s"] <= 25)
            assert not [e for e in session.backlog if e["kind"] == "launch"]  # rocket-1: T+5
            time.sleep(0.2)  # paused: the seek did not start the clock
            assert len(session.backlog) == len(got) and session.pacer.t_s == 4.0
            assert c.post("/api/control", json={"op": "seek", "value": -1}).status_code == 400
            too_late = {"op": "seek", "value": session.end_s + 1}
            assert c.post("/api/control", json=too_late).status_code == 400
            c.post("/api/control", json={"op": "resume"})
            _wait(lambda: session.status == "finished", "the end of the replay", session)
            # on from T+4: every recorded event exactly once
            assert [_without_enu(e) for e in session.backlog] == recorded
            # a finished replay can be seeked back, and plays to the end again
            assert _seek(c, 0.0)["status"] == "running"
            reset = inbox.until(lambda m: m["type"] == "reset" and m["state"]["t_s"] == 0, "reset")
            want = [e for e in recorded if e["t_s"] <= 0]
            assert [_without_enu(e) for e in reset["events"]] == want
            _wait(lambda: session.status == "finished", "the end of the second pass", session)
            assert [_without_enu(e) for e in session.backlog] == recorded
        finally:
            inbox.close()


def test_speed_control_in_a_replay_paces_the_clock(run_folder):
    session = Session.replay(run_folder, speed=1000, paused=True)
    with TestClient(create_app(session)) as c:
        _seek(c, 10.0)
        st = c.post("/api/control", json={"op": "speed", "value": 4}).json()
        assert st["speed"] == 4.0
        t0 = time.monotonic()
        c.post("/api/control", json={"op": "resume"})
        _wait(lambda: session.pacer.t_s >= 12.0, "two simulated seconds", session)
        shown = session.pacer.t_s  # read before the wall clock: both only move on
        wall = time.monotonic() - t0
        # never ahead of the wall clock times the speed (a lower bound: load only slows it)
        assert wall >= (shown - 10.0) / 4 - 0.02
        c.post("/api/control", json={"op": "speed", "value": 1000})
        _wait(lambda: session.status == "finished", "the end of the replay", session)


def _operator(session, action: str, target: str) -> None:
    session.operator(action, target)


def test_seek_in_a_live_run_re_runs_the_engine_to_that_time():
    """Back to T+12 after T+30: the same events as the first time up to T+12 (the engine
    re-run with the operator's action at its tick), then a different future when the
    operator acts differently."""
    session = Session.live("green-zone", speed=1000, paused=True)
    session.start()
    inbox = _Inbox(session)
    try:
        session.operator("weapons_hold", "lpws-2")  # applied at the first tick
        session.control("step", 12.0)
        _wait(lambda: session.pacer.paused and session.pacer.t_s >= 12, "T+12", session)
        at_12 = list(session.backlog)
        session.control("step", 18.0)
        _wait(lambda: session.pacer.paused and session.pacer.t_s >= 30, "T+30", session)
        first = list(session.backlog)
        kill = [e for e in first if e["kind"] == "engagement_result" and e["killed"]]
        assert kill and kill[0]["gun"] == "lpws-1" and 12 < kill[0]["t_s"] <= 30
        session.control("seek", 12.0)
        assert session.state()["status"] == "seeking"
        reset = inbox.until(lambda m: m["type"] == "reset", "the reset at T+12")
        assert reset["events"] == at_12  # identical, to the last digit
        assert reset["state"]["t_s"] == 12.0 and reset["state"]["paused"] is True
        assert reset["state"]["weapons_hold"] == ["lpws-2"]  # the re-run applied it again
        assert session.backlog == at_12 and session.status == "running"
        # a different future: this time lpws-1 is held as well
        session.operator("weapons_hold", "lpws-1")
        session.control("resume")
        _wait(lambda: session.status == "finished", "the end of the run", session)
        later = [e for e in session.backlog if e["t_s"] > 12]
        assert not [e for e in later if e["kind"] == "engagement"]  # no new burst
        hold = ("lpws-1", "hold")
        assert hold in {(e["gun"], e["state"]) for e in later if e["kind"] == "gun"}
        assert hold not in {(e["gun"], e["state"]) for e in first if e["kind"] == "gun"}
        held = [e for e in later if e["kind"] == "operator"]
        assert [(e["action"], e["target"], e["accepted"]) for e in held] == [
            ("weapons_hold", "lpws-1", True)
        ]
        assert len([e for e in session.backlog if e["kind"] == "impact"]) == 2
        # a finished live run can be seeked too: forward from T+0 to T+20 of this timeline
        this_run = list(session.backlog)
        session.control("seek", 20.0)
        reset = inbox.until(lambda m: m["type"] == "reset", "the reset at T+20")
        assert reset["events"] == [e for e in this_run if e["t_s"] <= 20.0]
        bad = TestClient(create_app(session, start=False)).post(
            "/api/control", json={"op": "seek", "value": session.end_s + 1}
        )
        assert bad.status_code == 400
    finally:
        session.stop()
        inbox.close()
