"""``opencram replay`` reports its progress in recording seconds (issue 16 point 5: "replay
at x1 is silent for two minutes"), and the datagrams still arrive, in order."""

from __future__ import annotations

import socket

from opencram.cli.replay import send_recording


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def start(self, description: str, total: float, done: float = 0.0) -> None:
        self.calls.append(("start", total))

    def update(self, done: float) -> None:
        self.calls.append(("update", done))

    def finish(self) -> None:
        self.calls.append(("finish",))


def test_progress_runs_over_the_recording_span_and_every_datagram_arrives():
    entries = [(100.0 + 0.5 * k, bytes([k])) for k in range(5)]  # 2 s of recording
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rx:
        rx.bind(("127.0.0.1", 0))
        rx.settimeout(2.0)
        bar = Recorder()
        n = send_recording(entries, rx.getsockname(), speed=100.0, on_progress=bar)
        got = [rx.recv(16) for _ in range(n)]
    assert n == 5 and got == [bytes([k]) for k in range(5)]
    assert bar.calls[0] == ("start", 2.0)
    assert [c[1] for c in bar.calls if c[0] == "update"] == [0.0, 0.5, 1.0, 1.5, 2.0]
    assert bar.calls[-1] == ("finish",)
