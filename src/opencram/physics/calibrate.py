"""Fit the threat library's model parameters to its published figures.

For every ballistic threat, in the ICAO standard atmosphere with no wind:

* rockets: the motor thrust that gives the published burn-out velocity at the
  maximum-range elevation (the tube length is taken as the rocket's length);
* all: the drag form factor that makes the simulated maximum range (best elevation)
  equal the published maximum range.

Run ``python -m opencram.physics.calibrate`` to print the fit, ``--write`` to store it in
the ``model`` blocks of ``data/threats.yaml``.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
from importlib import resources
from pathlib import Path

import numpy as np

from opencram.physics.fire import fly_threats, max_range
from opencram.physics.threats import ThreatType, library


def burnout_speed_mps(t: ThreatType, qe_deg: float) -> float:
    """Speed at burn-out of a rocket fired at ``qe_deg`` (ISA, no wind)."""
    fl = fly_threats([t], np.zeros((1, 3)), np.zeros(1), np.radians([qe_deg]), None, record=True)
    _, vel, _ = fl.state_at(np.array([t.burn_time_s]))
    return float(np.linalg.norm(vel[0]))


def _bisect(f, lo: float, hi: float, iters: int = 40) -> float:
    f_lo = f(lo)
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        f_mid = f(mid)
        if np.sign(f_mid) == np.sign(f_lo):
            lo, f_lo = mid, f_mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def fit(t: ThreatType) -> ThreatType:
    """Return ``t`` with fitted form factor, thrust, tube length and max-range elevation."""
    if t.is_rocket:
        tube = t.length_m or 1.0
        isp_thrust = 200.0 * 9.80665 * t.propellant_kg / t.burn_time_s
        t = dataclasses.replace(t, launch_tube_m=tube, thrust_n=isp_thrust)
    for _ in range(3 if t.is_rocket else 1):
        if t.is_rocket:
            qe = t.max_range_qe_deg

            def dv(thrust, t=t, qe=qe):
                trial = dataclasses.replace(t, thrust_n=thrust)
                return burnout_speed_mps(trial, qe) - t.burnout_velocity_mps

            t = dataclasses.replace(t, thrust_n=_bisect(dv, 0.3 * t.thrust_n, 3.0 * t.thrust_n, 30))

        def dr(ff, t=t):
            return max_range(dataclasses.replace(t, form_factor=ff))[0] - t.max_range_m

        ff = _bisect(dr, 0.05, 5.0, 30)
        t = dataclasses.replace(t, form_factor=ff)
        t = dataclasses.replace(t, max_range_qe_deg=max_range(t)[1])
    return t


def model_line(t: ThreatType) -> str:
    parts = [f"form_factor: {t.form_factor:.4f}", f"max_range_qe_deg: {t.max_range_qe_deg:.2f}"]
    if t.is_rocket:
        parts += [f"thrust_n: {t.thrust_n:.1f}", f"launch_tube_m: {t.launch_tube_m:.3f}"]
    note = (
        "fitted by python -m opencram.physics.calibrate; "
        "opencram model parameters, not published figures"
    )
    return "    model: {" + ", ".join(parts) + f', note: "{note}"' + "}"


def write_models(fitted: dict[str, ThreatType], path: Path) -> None:
    lines = path.read_text().splitlines()
    out: list[str] = []
    current = None
    for line in lines:
        m = re.match(r"^  ([a-z0-9-]+):\s*$", line)
        if m:
            current = m.group(1)
        if re.match(r"^    model:", line):
            continue
        out.append(line)
        if current in fitted and re.match(r"^    drag:", line):
            out.append(model_line(fitted[current]))
    tmp = path.with_suffix(".tmp")
    tmp.write_text("\n".join(out) + "\n")
    tmp.replace(path)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", action="store_true", help="store the fit in data/threats.yaml")
    args = ap.parse_args()
    fitted = {}
    for tid, t in library().items():
        if not t.is_ballistic:
            continue
        f = fit(t)
        fitted[tid] = f
        rng, qe = max_range(f)
        extra = ""
        if f.is_rocket:
            extra = f", burn-out {burnout_speed_mps(f, qe):.1f} m/s, thrust {f.thrust_n:.0f} N"
        print(
            f"{tid:20s} form factor {f.form_factor:.4f}: max range {rng:8.1f} m "
            f"(published {t.max_range_m:.0f}) at {qe:.2f} deg{extra}"
        )
    if args.write:
        path = Path(str(resources.files("opencram.physics").joinpath("data/threats.yaml")))
        write_models(fitted, path)
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
