"""Load on ``opencram serve`` over loopback (docs/reliability.md): a separate process sends
CAT048 datagrams of 8 plots each at a fixed rate while a websocket client listens; at the
end the service's closing ``ingest_stats`` says what it received and what it dropped, by
cause, and the figures are checked against what was sent (every datagram accounted for).
The service's resident memory (VmRSS) is sampled throughout.

    python benchmarks/bench_serve_flood.py --rates 250,500,1000 --seconds 5
    python benchmarks/bench_serve_flood.py --rates 50 --seconds 120 --csv   # a soak
    python benchmarks/bench_serve_flood.py --rates 1000 --scan-budget 100000  # no budget
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from opencram.interop.asterix import encode_cat048

SENSORS = (
    "sensors:\n  - {id: r1, lat: 33.3, lon: 44.4, alt_m: 34, sigma_range_m: 10,\n"
    "     sigma_azimuth_mrad: 2, sigma_elevation_mrad: 2, scan_s: 1.0}\n"
)


def free_port(kind: int) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def datagrams(n: int, rate: float, seed: int = 0) -> list[bytes]:
    """``n`` distinct datagrams of 8 plots, stamped on a clock advancing 1/rate each."""
    r = np.random.default_rng(seed)
    out = []
    for k in range(n):
        rng_m = r.uniform(1000, 15_000, 8)
        out.append(
            encode_cat048(
                sac=0,
                sic=1,
                tod_s=np.full(8, 1000.0 + k / rate),
                range_m=rng_m,
                az_rad=r.uniform(0, 6.28, 8),
                height_m=34.0 + rng_m * r.uniform(0.01, 0.3, 8),
            )[0]
        )
    return out


def parse_closing(line: str) -> tuple[int, int, dict]:
    """Datagrams received, plots and drops by cause from serve's closing line (which,
    unlike the last websocket event, a client too slow for a busy service cannot miss)."""
    m = re.search(r"stopped; (\d+) datagrams, \d+ lines, (\d+) plots", line)
    drops = re.search(r"dropped: (.*?), \d+ late plots", line).group(1)
    dropped = {}
    if drops != "none":
        for part in drops.split(", "):
            cause, n = part.rsplit(" ", 1)
            dropped[cause] = int(n)
    return int(m.group(1)), int(m.group(2)), dropped


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def listen(url: str, got: list) -> None:
    for _ in range(50):
        try:
            async with connect(url) as ws:
                async for m in ws:
                    e = json.loads(m)
                    if e["kind"] == "ingest_stats":
                        got.append(e)
            return
        except ConnectionClosed:  # the service exited
            return
        except OSError:
            await asyncio.sleep(0.2)


async def send(port: int, data: list[bytes], rate: float, seconds: float, csv_port, pid):
    """Send at ``rate`` per second for ``seconds`` (cycling through ``data`` with fresh
    times is not needed: repeats count as duplicates, so ``data`` covers the run)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    writer = None
    if csv_port is not None:
        _r, writer = await asyncio.open_connection("127.0.0.1", csv_port)
    t0 = time.monotonic()
    sent = 0
    rss = []
    while (elapsed := time.monotonic() - t0) < seconds and sent < len(data):
        due = min(int(elapsed * rate) + 1, len(data))
        while sent < due:
            sock.sendto(data[sent], ("127.0.0.1", port))
            sent += 1
        if writer is not None and sent % 100 == 0:
            writer.write(b"%.3f,r1,5000,45,3\n" % (1000.0 + sent / rate))
        if not rss or elapsed - rss[-1][0] >= 1.0:
            rss.append((elapsed, rss_mb(pid)))
        await asyncio.sleep(0.002)
    sock.close()
    if writer is not None:
        writer.close()
    return sent, rss


async def one_run(rate: float, seconds: float, with_csv: bool, scan_budget: int) -> dict:
    ports = {
        "asterix": free_port(socket.SOCK_DGRAM),
        "csv": free_port(socket.SOCK_STREAM),
        "ws": free_port(socket.SOCK_STREAM),
    }
    tmp = Path(tempfile.mkdtemp())
    (tmp / "sensors.yaml").write_text(SENSORS)
    n = int(rate * seconds) + 10
    data = datagrams(n, rate)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "opencram",
            "serve",
            "--sensors",
            str(tmp / "sensors.yaml"),
            "--asterix-port",
            str(ports["asterix"]),
            "--csv-port",
            str(ports["csv"]),
            "--ws-port",
            str(ports["ws"]),
            "--scan-budget",
            str(scan_budget),
        ],
        stderr=(tmp / "serve.log").open("w"),
        text=True,
    )
    while "ready" not in (tmp / "serve.log").read_text():
        await asyncio.sleep(0.1)
    got: list = []
    listener = asyncio.ensure_future(listen(f"ws://127.0.0.1:{ports['ws']}", got))
    await asyncio.sleep(0.5)
    rss0 = rss_mb(proc.pid)
    sent, rss = await send(
        ports["asterix"], data, rate, seconds, ports["csv"] if with_csv else None, proc.pid
    )
    await asyncio.sleep(3.0)  # let it decode what it queued
    rss.append((seconds + 3.0, rss_mb(proc.pid)))
    proc.send_signal(signal.SIGINT)
    await asyncio.to_thread(proc.wait, 60)
    await asyncio.wait_for(listener, 10)
    closing = (tmp / "serve.log").read_text().splitlines()[-1]
    received, plots, dropped = parse_closing(closing)
    return {
        "rate_per_s": rate,
        "seconds": seconds,
        "sent": sent,
        "received": received,
        "kernel_dropped": dropped.get("kernel", 0),
        "unreported": sent - received - dropped.get("kernel", 0),
        "dropped": dropped,
        "plots": plots,
        "rss_mb_start": round(rss0, 1),
        "rss_mb_max": round(max(r for _, r in rss), 1),
        "rss_mb_end": round(rss[-1][1], 1),
        "rss_mb_every_10_s": [round(r, 1) for t, r in rss if int(t) % 10 == 0][::1],
        "ingest_stats_events": len(got),
        "closing_line": closing,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rates", default="250,500,1000")
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--csv", action="store_true", help="also send plot CSV lines")
    ap.add_argument("--scan-budget", type=int, default=500, help="serve --scan-budget")
    args = ap.parse_args()
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    for rate in [float(r) for r in args.rates.split(",")]:
        print(
            json.dumps(asyncio.run(one_run(rate, args.seconds, args.csv, args.scan_budget))),
            flush=True,
        )


if __name__ == "__main__":
    main()
