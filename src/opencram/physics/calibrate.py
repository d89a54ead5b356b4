"""Fit the threat library's model parameters to its published figures.

For every ballistic threat, in the ICAO standard atmosphere with no wind:

* rockets: the motor thrust that gives the published burn-out velocity at the
  maximum-range elevation (the tube length is taken as the rocket's length);
* a weapon whose charges carry a firing-table row (``fit_row``): the form factor and the
  top charge's muzzle velocity that give that row's range *and* time of flight at its
  elevation, then each lower charge's muzzle velocity from its own row's range;
* all others: the drag form factor that makes the simulated maximum range (best
  elevation) equal the published maximum range;
* a charge table marked ``charges_scaled_from: ID`` (no public table found): each charge's
  muzzle velocity is the top one times the velocity ratio of the same charge of ``ID``;
  a charge of such a table that carries its own published row (``fit_row``) takes the
  velocity that meets that row's range instead.

Run ``python -m opencram.physics.calibrate`` to print the fit, ``--write`` to store it in
``data/threats.yaml`` (the ``model`` blocks, and the derived charge velocities), ``--only
ID`` to fit some threats only.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
from importlib import resources
from pathlib import Path

import numpy as np
import yaml

from opencram.physics.fire import fly_threats, max_range
from opencram.physics.threats import ThreatType, library, library_text

MIL_RAD = 2.0 * np.pi / 6400.0  # one NATO mil


def burnout_speed_mps(t: ThreatType, qe_deg: float) -> float:
    """Speed at burn-out of a rocket fired at ``qe_deg`` (ISA, no wind)."""
    fl = fly_threats([t], np.zeros((1, 3)), np.zeros(1), np.radians([qe_deg]), None, record=True)
    _, vel, _ = fl.state_at(np.array([t.burn_time_s]))
    return float(np.linalg.norm(vel[0]))


def shot(t: ThreatType, qe_rad: float) -> tuple[float, float, float]:
    """Range (m), time of flight (s) and apex height (m) of ``t`` fired at ``qe_rad``
    over flat ground (ISA, no wind, no Earth rotation), on the truth step of 0.02 s."""
    fl = fly_threats([t], np.zeros((1, 3)), np.zeros(1), np.array([qe_rad]), None, dt_s=0.02)
    rng = float(np.hypot(*fl.impact_pos_enu_m[0, :2]))
    return rng, float(fl.impact_t_s[0]), float(fl.apogee_up_m[0])


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


def velocity_for_range(t: ThreatType, qe_rad: float, range_m: float) -> float:
    """Muzzle velocity (m/s) that carries ``t`` to ``range_m`` at ``qe_rad``."""

    def err(v):
        return shot(dataclasses.replace(t, muzzle_velocity_mps=v), qe_rad)[0] - range_m

    return _bisect(err, 20.0, 1500.0, 40)


def fit_firing_table(t: ThreatType, rows: dict[str, dict]) -> ThreatType:
    """Form factor and charge velocities from firing-table rows (one per charge).

    The top charge's row gives range R and time of flight T at elevation QE: for each
    trial form factor the muzzle velocity meeting R is found, and the form factor is
    bisected until the time of flight meets T (more drag needs a faster, steeper-rising
    shot for the same range, so T grows with the form factor). Each lower charge's
    velocity then meets its own row's range with that form factor.
    """
    top = t.charge_names[-1]
    row = rows[top]
    qe = row["elevation_mil"] * MIL_RAD

    def tof_err(ff):
        trial = dataclasses.replace(t, form_factor=ff)
        v = velocity_for_range(trial, qe, row["range_m"])
        return (
            shot(dataclasses.replace(trial, muzzle_velocity_mps=v), qe)[1] - row["time_of_flight_s"]
        )

    ff = _bisect(tof_err, 0.05, 1.5, 30)
    t = dataclasses.replace(t, form_factor=ff)
    charges = []
    for name in t.charge_names:
        r = rows[name]
        charges.append((name, velocity_for_range(t, r["elevation_mil"] * MIL_RAD, r["range_m"])))
    t = dataclasses.replace(t, charges=tuple(charges), muzzle_velocity_mps=charges[-1][1])
    return dataclasses.replace(t, max_range_qe_deg=max_range(t)[1])


def scaled_charges(t: ThreatType, ref: ThreatType) -> ThreatType:
    """``t``'s charges as its top muzzle velocity times ``ref``'s charge velocity ratios."""
    v_top = t.muzzle_velocity_mps or 0.0
    ref_top = ref.charges[-1][1]
    names = t.charge_names
    if len(names) != len(ref.charges):
        raise ValueError(f"{t.id}: {len(names)} charges, but {ref.id} has {len(ref.charges)}")
    pairs = tuple(
        (name, v_top * mv / ref_top) for name, (_, mv) in zip(names, ref.charges, strict=True)
    )
    return dataclasses.replace(t, charges=pairs)


def refit_charge_rows(t: ThreatType, rows: dict[str, dict]) -> ThreatType:
    """``t`` with each charge that has a row in ``rows`` set to the velocity meeting that
    row's range at its elevation (the others kept); the top charge stays the muzzle
    velocity."""
    charges = tuple(
        (n, velocity_for_range(t, rows[n]["elevation_mil"] * MIL_RAD, rows[n]["range_m"]))
        if n in rows
        else (n, v)
        for n, v in t.charges
    )
    return dataclasses.replace(t, charges=charges, muzzle_velocity_mps=charges[-1][1])


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


def charge_rows() -> dict[str, dict[str, dict]]:
    """Per threat id, the firing-table row of each charge that has one (``fit_row``)."""
    doc = yaml.safe_load(library_text())
    out: dict[str, dict[str, dict]] = {}
    for tid, raw in doc["threats"].items():
        rows = {
            str(k): v["fit_row"] for k, v in (raw.get("charges") or {}).items() if "fit_row" in v
        }
        if rows:
            out[tid] = rows
    return out


def scaling_refs() -> dict[str, str]:
    """Threat id -> the id whose charge velocity ratios its charges borrow."""
    doc = yaml.safe_load(library_text())
    return {
        tid: raw["charges_scaled_from"]
        for tid, raw in doc["threats"].items()
        if raw.get("charges_scaled_from")
    }


def fit_all(only: list[str] | None = None) -> dict[str, ThreatType]:
    """Fit every ballistic threat (or those in ``only``); firing-table fits first, so a
    scaled charge table borrows the fitted ratios."""
    lib = library()
    rows = charge_rows()
    refs = scaling_refs()
    fitted: dict[str, ThreatType] = {}
    for tid in sorted(lib, key=lambda k: k not in rows or k in refs):
        t = lib[tid]
        if not t.is_ballistic or (only and tid not in only):
            continue
        whole_table = tid in rows and tid not in refs
        fitted[tid] = fit_firing_table(t, rows[tid]) if whole_table else fit(t)
        if tid in refs:
            ref = fitted.get(refs[tid], lib[refs[tid]])
            fitted[tid] = scaled_charges(fitted[tid], ref)
            if tid in rows:  # the scaled table's charges that have a published row
                fitted[tid] = refit_charge_rows(fitted[tid], rows[tid])
    return fitted


def model_line(t: ThreatType) -> str:
    parts = [f"form_factor: {t.form_factor:.4f}", f"max_range_qe_deg: {t.max_range_qe_deg:.2f}"]
    if t.is_rocket:
        parts += [f"thrust_n: {t.thrust_n:.1f}", f"launch_tube_m: {t.launch_tube_m:.3f}"]
    note = (
        "fitted by python -m opencram.physics.calibrate; "
        "opencram model parameters, not published figures"
    )
    return "    model: {" + ", ".join(parts) + f', note: "{note}"' + "}"


def _rewrite_line(line: str, t: ThreatType | None) -> str:
    """``line`` with a derived figure of ``t`` replaced: a charge's velocity, or the
    muzzle velocity when the charge table derives it."""
    if t is None or not t.charges:
        return line
    m = re.match(r'^      "([^"]+)": \{value: [0-9.]+', line)
    if m and m.group(1) in t.charge_names:
        mv = dict(t.charges)[m.group(1)]
        return re.sub(r"value: [0-9.]+", f"value: {mv:.1f}", line, count=1)
    if re.match(r"^    muzzle_velocity_mps: \{value: [0-9.]+", line):
        return re.sub(r"value: [0-9.]+", f"value: {t.charges[-1][1]:.1f}", line, count=1)
    return line


def write_models(fitted: dict[str, ThreatType], path: Path) -> None:
    lines = path.read_text().splitlines()
    out: list[str] = []
    current = None
    for line in lines:
        m = re.match(r"^  ([a-z0-9-]+):\s*$", line)
        if m:
            current = m.group(1)
        if current in fitted and re.match(r"^    model:", line):
            continue
        out.append(_rewrite_line(line, fitted.get(current)))
        if current in fitted and re.match(r"^    drag:", line):
            out.append(model_line(fitted[current]))
    tmp = path.with_suffix(".tmp")
    tmp.write_text("\n".join(out) + "\n")
    tmp.replace(path)


def _report(tid: str, t: ThreatType, f: ThreatType) -> str:
    rng, qe = max_range(f)
    extra = ""
    if f.is_rocket:
        extra = f", burn-out {burnout_speed_mps(f, qe):.1f} m/s, thrust {f.thrust_n:.0f} N"
    if f.charges:
        extra += ", charges " + ", ".join(f"{n}: {v:.1f} m/s" for n, v in f.charges)
    return (
        f"{tid:20s} form factor {f.form_factor:.4f}: max range {rng:8.1f} m "
        f"(published {t.max_range_m:.0f}) at {qe:.2f} deg{extra}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", action="store_true", help="store the fit in data/threats.yaml")
    ap.add_argument("--only", nargs="*", help="fit only these threat ids")
    args = ap.parse_args()
    fitted = fit_all(args.only)
    for tid, f in fitted.items():
        print(_report(tid, library()[tid], f))
    if args.write:
        path = Path(str(resources.files("opencram.physics").joinpath("data/threats.yaml")))
        write_models(fitted, path)
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
