"""A long soak of ``opencram serve`` (issue 17, "Figures to report"; docs/reliability.md).

A real ``opencram serve`` process gets, for ``--minutes``: CAT048 over UDP (a scan a
second with two targets circling the radar and clutter, more clutter datagrams through the
second, a repeat of each scan datagram and a datagram of junk), plot CSV lines over TCP,
and three websocket clients (one reading everything, one reading slowly, one connected that
never reads). Every ``--every`` seconds it samples the service's resident memory (VmRSS
from /proc/PID/status) and its Python heap. The service does not report its heap, so the
process is started through a small launcher that runs the same ``opencram serve`` command
line with a thread writing ``sys.getallocatedblocks()`` (objects the interpreter holds;
no tracemalloc, which would slow the service down) to a file every second.

Writes a CSV of the samples (atomically, after every sample, so a cut-off run keeps what it
measured) and prints the growth: the mean of the first minute against the last minute.

    nice -n 10 python benchmarks/soak_serve.py --minutes 10 --out soak.csv
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from websockets.asyncio.client import connect

from bench_serve_flood import SENSORS, free_port, parse_closing, rss_mb
from opencram.fileio import atomic_write_text
from opencram.interop.asterix import encode_cat048

LAUNCHER = """
import os, runpy, sys, threading, time
path = os.environ["OPENCRAM_SOAK_HEAP"]
def sample():
    while True:
        with open(path + ".tmp", "w") as f:
            f.write(str(sys.getallocatedblocks()))
        os.replace(path + ".tmp", path)
        time.sleep(1.0)
threading.Thread(target=sample, daemon=True).start()
sys.argv = ["opencram"] + sys.argv[1:]
runpy.run_module("opencram", run_name="__main__")
"""

T0_S = 1000.0  # time of day of the first scan
CLUTTER_DATAGRAMS_PER_S = 40  # 8 plots each: 320 + the scan's 8, inside the 500 budget


def scan_datagrams(t_s: float, rng: np.random.Generator) -> list[bytes]:
    """One second of UDP: the scan (targets and clutter) twice, clutter, one junk datagram."""
    ang = np.array([t_s * 0.02, t_s * 0.02 + np.pi])  # two targets, 5 km circle, 100 m/s
    pos = np.stack([5000 * np.sin(ang), 5000 * np.cos(ang), np.full(2, 800.0)], axis=1)
    rng_m = np.linalg.norm(pos, axis=1)
    clutter = rng.uniform(1000, 12_000, 6)
    scan = encode_cat048(
        sac=0,
        sic=1,
        tod_s=np.full(8, t_s),
        range_m=np.r_[rng_m, clutter],
        az_rad=np.r_[np.arctan2(pos[:, 0], pos[:, 1]) % (2 * np.pi), rng.uniform(0, 6.28, 6)],
        height_m=np.r_[34.0 + pos[:, 2], 34.0 + clutter * rng.uniform(0.01, 0.2, 6)],
    )
    out = scan + scan[:1]  # a repeat: counted as duplicate
    for k in range(CLUTTER_DATAGRAMS_PER_S):
        c = rng.uniform(1000, 12_000, 8)
        out += encode_cat048(
            sac=0,
            sic=1,
            tod_s=np.full(8, t_s + (k + 1) / (CLUTTER_DATAGRAMS_PER_S + 1)),
            range_m=c,
            az_rad=rng.uniform(0, 6.28, 8),
            height_m=34.0 + c * rng.uniform(0.01, 0.3, 8),
        )
    out.append(rng.integers(0, 256, int(rng.integers(1, 60)), dtype=np.uint8).tobytes())
    return out


async def ws_client(url: str, counts: dict, name: str, delay_s: float | None) -> None:
    """A websocket client: reads every message (``delay_s`` 0), slowly, or never (None)."""
    try:
        async with connect(url, max_queue=4) as ws:
            if delay_s is None:
                await asyncio.Event().wait()
            async for _m in ws:
                counts[name] = counts.get(name, 0) + 1
                if delay_s:
                    await asyncio.sleep(delay_s)
    except Exception as exc:  # the service closed it (a slow client may be cut off)
        counts[name + "_closed"] = type(exc).__name__


def write_samples(path: Path, rows: list[dict]) -> None:
    cols = list(rows[0])
    text = ",".join(cols) + "\n"
    text += "".join(",".join(str(r[c]) for c in cols) + "\n" for r in rows)
    atomic_write_text(path, text)


def sample(pid: int, heap_file: Path, t: float, counts: dict) -> dict:
    try:
        heap = int(heap_file.read_text())
    except (OSError, ValueError):
        heap = -1
    return {
        "t_s": round(t, 1),
        "rss_mb": round(rss_mb(pid), 2),
        "heap_blocks": heap,
        "datagrams_sent": counts["datagrams"],
        "csv_lines_sent": counts["lines"],
        "ws_messages": counts.get("reader", 0),
    }


async def feed(ports: dict, seconds: float, every_s: float, proc, heap_file, out: Path):
    """Send a second of traffic at a time on the wall clock; sample every ``every_s``."""
    rng = np.random.default_rng(17)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    _r, csv = await asyncio.open_connection("127.0.0.1", ports["csv"])
    counts = {"datagrams": 0, "lines": 0}
    url = f"ws://127.0.0.1:{ports['ws']}"
    clients = [
        asyncio.ensure_future(ws_client(url, counts, n, d))
        for n, d in (("reader", 0), ("slow", 0.5), ("idle", None))
    ]
    rows: list[dict] = []
    t0 = time.monotonic()
    k = 0
    while (elapsed := time.monotonic() - t0) < seconds:
        if proc.poll() is not None:
            raise SystemExit(f"opencram serve exited ({proc.returncode}) after {elapsed:.0f} s")
        for d in scan_datagrams(T0_S + k, rng):
            udp.sendto(d, ("127.0.0.1", ports["asterix"]))
            counts["datagrams"] += 1
            await asyncio.sleep(0.015)
        csv.write(
            b"".join(b"%.2f,r1,%.1f,%.1f,3\n" % (T0_S + k + 0.5, 7000 + j, j) for j in range(5))
        )
        await csv.drain()
        counts["lines"] += 5
        k += 1
        if elapsed >= len(rows) * every_s:
            rows.append(sample(proc.pid, heap_file, elapsed, counts))
            write_samples(out, rows)
            print(json.dumps(rows[-1]), flush=True)
        await asyncio.sleep(max(0.0, t0 + k - time.monotonic()))
    udp.close()
    csv.close()
    return rows, counts, clients


def growth(rows: list[dict], key: str, window_s: float = 60.0) -> tuple[float, float]:
    """Mean of the first and of the last ``window_s`` of samples (the first sample, before
    any traffic was decoded, left out)."""
    end = rows[-1]["t_s"]
    first = [r[key] for r in rows[1:] if r["t_s"] <= window_s + 1]
    last = [r[key] for r in rows if r["t_s"] >= end - window_s]
    return float(np.mean(first)), float(np.mean(last))


def start_serve(tmp: Path, ports: dict) -> subprocess.Popen:
    (tmp / "sensors.yaml").write_text(SENSORS)
    env = dict(os.environ, OPENCRAM_SOAK_HEAP=str(tmp / "heap"))
    args = ["--sensors", str(tmp / "sensors.yaml"), "--status-every", "60"]
    for name, opt in (("asterix", "--asterix-port"), ("csv", "--csv-port"), ("ws", "--ws-port")):
        args += [opt, str(ports[name])]
    return subprocess.Popen(
        [sys.executable, "-c", LAUNCHER, "serve", *args],
        stderr=(tmp / "serve.log").open("w"),
        env=env,
    )


async def soak(minutes: float, every_s: float, out: Path) -> dict:
    ports = {
        "asterix": free_port(socket.SOCK_DGRAM),
        "csv": free_port(socket.SOCK_STREAM),
        "ws": free_port(socket.SOCK_STREAM),
    }
    tmp = Path(tempfile.mkdtemp(prefix="soak-"))
    proc = start_serve(tmp, ports)
    while "ready" not in (tmp / "serve.log").read_text():
        if proc.poll() is not None:
            raise SystemExit((tmp / "serve.log").read_text())
        await asyncio.sleep(0.1)
    cpu0 = os.times()
    rows, counts, clients = await feed(ports, minutes * 60, every_s, proc, tmp / "heap", out)
    await asyncio.sleep(3.0)
    proc.send_signal(signal.SIGINT)
    await asyncio.to_thread(proc.wait, 60)
    for c in clients:
        c.cancel()
    closing = (tmp / "serve.log").read_text().splitlines()[-1]
    received, plots, dropped = parse_closing(closing)
    rss = growth(rows, "rss_mb")
    heap = growth(rows, "heap_blocks")
    return {
        "minutes": minutes,
        "samples": len(rows),
        "datagrams_sent": counts["datagrams"],
        "datagrams_received": received,
        "csv_lines_sent": counts["lines"],
        "plots": plots,
        "dropped": dropped,
        "ws_reader_messages": counts.get("reader", 0),
        "ws_slow_messages": counts.get("slow", 0),
        "ws_closed": {k: v for k, v in counts.items() if k.endswith("_closed")},
        "rss_mb_first_min": round(rss[0], 1),
        "rss_mb_last_min": round(rss[1], 1),
        "rss_mb_growth": round(rss[1] - rss[0], 1),
        "heap_blocks_first_min": round(heap[0]),
        "heap_blocks_last_min": round(heap[1]),
        "heap_blocks_growth": round(heap[1] - heap[0]),
        "rss_mb_max": max(r["rss_mb"] for r in rows),
        "feeder_cpu_s": round(sum(os.times()[:2]) - sum(cpu0[:2]), 1),
        "closing_line": closing,
        "csv": str(out),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--every", type=float, default=10.0, help="seconds between samples")
    ap.add_argument("--out", type=Path, default=Path("soak_serve.csv"))
    args = ap.parse_args()
    print(json.dumps(asyncio.run(soak(args.minutes, args.every, args.out))), flush=True)


if __name__ == "__main__":
    main()
