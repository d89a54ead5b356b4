"""Real-time CoT: what a TAK client needs to show a message at all. The authority is the CoT
2.0 event schema's meaning of ``time`` and ``stale`` (a message is valid from ``start`` to
``stale``; ATAK's CotMarkerRefresher hides or removes an item once ``stale`` has passed), so
a feed must be stamped from the time it is sent: nothing stale on arrival, and ``time`` is
the sender's now. Pacing is checked with a fake clock (no real sleeping): a message of data
time ``t_s`` leaves ``(t_s - t_first) / speed`` after the first."""

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from opencram.errors import UserError
from opencram.interop import cot
from opencram.interop.tak import Pacing, emit_paced, run_folder_cot
from opencram.live.service import ServeConfig
from test_cot import EMBASSY, alert, hand_made_run, impact, origin, parse, track, when

NOW = datetime(2026, 12, 1, 18, 43, 7, 250000, tzinfo=UTC)


class FakeClock:
    """A monotonic clock that only moves when slept on, and a wall clock at NOW plus it."""

    def __init__(self) -> None:
        self.t_s = 100.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.t_s

    def now(self) -> datetime:
        return NOW + timedelta(seconds=self.t_s - 100.0)

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.t_s += seconds


def events():
    return [
        track(t_s=10.0),
        impact(t_s=10.5),
        alert("raised", t_s=11.0),
        origin(t_s=12.0),
        track(t_s=30.0),
        alert("cleared", t_s=40.0),
    ]


def emit(pacing: Pacing, clock: FakeClock):
    got: list[tuple[float, bytes]] = []

    async def send(msg: bytes) -> None:
        got.append((clock.monotonic(), msg))

    sent = asyncio.run(emit_paced(events(), {"US Embassy": EMBASSY}, send, pacing, clock))
    assert sent == [m for _, m in got]
    return got


@pytest.mark.parametrize("speed", [1.0, 2.0, 8.0])
def test_paced_at_the_data_times_divided_by_speed(speed):
    clock = FakeClock()
    got = emit(Pacing(speed=speed), clock)
    for at, msg in got:
        root = parse(msg)
        data_s = float(root.find("detail/opencram").get("data_time_s"))
        assert at - 100.0 == pytest.approx((data_s - 10.0) / speed)
    assert clock.t_s - 100.0 == pytest.approx(30.0 / speed)


def test_burst_sends_at_once():
    clock = FakeClock()
    got = emit(Pacing(burst=True), clock)
    assert clock.slept == [] and {at for at, _ in got} == {100.0}
    assert len(got) == 8  # track, impact, polygon + alert, origin, track, delete + cancel


def test_paced_stamps_are_now_and_never_stale_on_arrival():
    clock = FakeClock()
    for at, msg in emit(Pacing(speed=4.0), clock):
        root = parse(msg)
        sent_at = NOW + timedelta(seconds=at - 100.0)
        assert when(root.get("time")) == when(root.get("start"))
        assert abs(when(root.get("time")) - sent_at) < timedelta(milliseconds=1)
        assert when(root.get("stale")) > sent_at


def test_epoch_stamps_keep_scenario_time():
    epoch = datetime(2021, 12, 19, tzinfo=UTC)
    got = emit(Pacing(burst=True, epoch=epoch), FakeClock())
    first = parse(got[0][1])
    assert first.get("time") == "2021-12-19T00:00:10.000Z"


def test_speed_must_be_positive():
    with pytest.raises(UserError, match="--speed"):
        Pacing(speed=0.0)


def test_clock_stamps_every_kind_from_now_with_the_data_time_in_the_detail():
    evs = events()
    msgs = [parse(m) for m in cot.events_to_cot(evs, {"US Embassy": EMBASSY}, clock=lambda: NOW)]
    assert len(msgs) == 8
    for root in msgs:
        assert when(root.get("time")) == NOW == when(root.get("start"))
        assert when(root.get("stale")) > NOW
        assert root.find("detail/opencram").get("data_time_s") is not None
    assert [m.find("detail/opencram").get("data_time_s") for m in msgs[:2]] == ["10.000", "10.500"]
    # the impact time in the remarks is now plus the time to impact
    assert "at 2026-12-01T18:43:28.750Z" in msgs[1].find("detail/remarks").text


def test_live_service_default_clock_is_the_wall_clock():
    before = datetime.now(UTC)
    now = ServeConfig().clock()
    assert now.tzinfo is not None and before <= now <= datetime.now(UTC)


def test_live_service_time_of_day_data_is_not_stale_on_arrival():
    """The replay of issue 15: data time 20 s (time of day 00:00:20) sent at 18:43Z must be
    stamped 18:43Z, not 00:00:20Z."""
    msg = parse(cot.track_cot(track(t_s=20.0), epoch=cot.stamp_epoch(20.0, epoch=NOW, clock=None)))
    assert msg.get("time").endswith("18:43:27.250Z")  # an epoch is honoured as given
    root = parse(
        cot.events_to_cot([track(t_s=20.0)], {}, clock=ServeConfig(clock=lambda: NOW).clock)[0]
    )
    assert when(root.get("time")) == NOW and when(root.get("stale")) > NOW
    assert root.find("detail/opencram").get("data_time_s") == "20.000"


def test_dry_run_without_epoch_is_stamped_now(tmp_path, cli):
    folder = hand_made_run(tmp_path / "run")
    before = datetime.now(UTC).replace(microsecond=0)
    res = cli("tak", "send", str(folder), "--dry-run")
    assert res.returncode == 0, res.stderr
    for line in res.stdout.splitlines():
        root = parse(line.encode())
        assert when(root.get("time")) >= before - timedelta(seconds=1)
        assert when(root.get("stale")) > datetime.now(UTC)


def test_run_folder_cot_with_a_clock(tmp_path):
    folder = hand_made_run(tmp_path / "run")
    msgs = [parse(m) for m in run_folder_cot(folder, clock=lambda: NOW)]
    assert msgs and all(when(m.get("time")) == NOW for m in msgs)


def test_cli_bad_speed(tmp_path, cli):
    folder = hand_made_run(tmp_path / "run")
    res = cli("tak", "send", str(folder), "--speed", "0", "--url", "tcp://127.0.0.1:9")
    assert res.returncode == 2 and "--speed" in res.stderr and "Traceback" not in res.stderr
