"""One campaign run, in memory: vary the scenario, simulate it from sensing to intercept,
and reduce the result to one row per threat and one row for the run.

No run folder or report is written per run (too slow for thousands of runs); the rows
carry what the campaign summary needs. ``run_task`` never raises for a failing run: the
error is returned in the run row with its seed, so the campaign goes on.
"""

from __future__ import annotations

import copy
import json
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from opencram.analysis.summary import build_summary
from opencram.c2.engine import run
from opencram.c2.world import compile_world
from opencram.campaign.vary import Vary, apply_overrides, apply_varies
from opencram.errors import UserError
from opencram.scenario.load import assemble
from opencram.scenario.schema import Scenario
from opencram.yamlio import path_str

# impact and origin prediction errors are reported at these times before the true impact
LEADS_S = (20.0, 10.0, 5.0)


@dataclass(frozen=True)
class Task:
    """Everything a worker needs for one run (picklable; sent to processes or Ray)."""

    base: dict  # the scenario as plain data (Scenario.model_dump(mode="json"))
    base_dir: str  # folder that relative paths in the scenario use
    source: str  # scenario label for messages
    layout: str
    overrides: dict = field(default_factory=dict)
    varies: tuple[Vary, ...] = ()
    campaign_seed: int = 0
    run: int = 0

    @property
    def seed(self) -> int:
        """The simulation seed of this run: the same for every layout (common random
        numbers), so layouts face the same threats, noise and draws."""
        return self.campaign_seed + self.run


def scenario_for(task: Task):
    """The run's scenario (overrides, then variations) and the drawn values."""
    data = copy.deepcopy(task.base)
    apply_overrides(data, task.overrides, f"layout {task.layout}")
    drawn = apply_varies(data, list(task.varies), task.campaign_seed, task.run)
    scenario = Scenario.model_validate(data)
    loaded, problems = assemble(scenario, task.source, Path(task.base_dir))
    if problems:
        loc, msg = problems[0]
        raise ValueError(f"{path_str(loc)}: {msg}")
    return loaded, drawn


def _err(x: float | None, nd: int = 3) -> float | None:
    if x is None or not np.isfinite(x):
        return None
    return round(float(x), nd)


def run_task(task: Task) -> dict[str, Any]:
    """Simulate one run; returns ``{"run": row, "threats": [rows]}``, never raises for a
    problem of the run itself (the run row then has ``status`` "failed" and the error)."""
    t_cpu = time.process_time()
    run_row: dict[str, Any] = {
        "layout": task.layout,
        "run": task.run,
        "seed": task.seed,
        "status": "ok",
        "error": None,
        "variant": "{}",
    }
    try:
        loaded, drawn = scenario_for(task)
        run_row["variant"] = json.dumps(drawn, sort_keys=True)
        threats, extra = _simulate(loaded, task)
        run_row.update(extra)
    except Exception as exc:  # a failing run is recorded, the campaign goes on
        msg = "; ".join(exc.problems) if isinstance(exc, UserError) else str(exc)
        where = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
        at = f" (at {Path(where.filename).name}:{where.lineno})" if where else ""
        run_row["status"] = "failed"
        run_row["error"] = f"{type(exc).__name__}: {msg}{at}".replace("\n", " ")[:2000]
        threats = []
    run_row["cpu_s"] = round(time.process_time() - t_cpu, 4)
    for row in threats:
        row["layout"], row["run"], row["seed"] = task.layout, task.run, task.seed
    return {"run": run_row, "threats": threats}


def _simulate(loaded, task: Task) -> tuple[list[dict], dict]:

    world = compile_world(loaded, task.seed)
    result = run(world)
    summary = build_summary(result, loaded.layers)
    truth = world.truth
    zones = world.zones
    protected = {n for n, k in zip(zones.names, zones.kinds, strict=True) if k == "protected"}
    t_imp_true = truth.impact_times()  # where each round would land undisturbed
    p_imp_true = truth.impact_points()
    warn = summary.get("warning") or {}
    warned: dict[str, list[tuple[str, float, float | None]]] = {}
    for w in warn.get("warning_times_s", []):
        warned.setdefault(w["threat"], []).append(
            (w["zone"], w["zone_alert_warning_s"], w["own_track_warning_s"])
        )
    missed: dict[str, list[str]] = {}
    for m in warn.get("missed_warnings", []):
        missed.setdefault(m["threat"], []).append(m["zone"])
    pred = _prediction_errors(result, t_imp_true, p_imp_true)
    rows = []
    for i, t in enumerate(summary["threats"]):
        rid = t["id"]
        tr = t.get("tracking") or {}
        im = t["impact"]
        icp = t.get("intercept")
        would = (
            zones.zones_at(p_imp_true[i, 0], p_imp_true[i, 1])
            if np.all(np.isfinite(p_imp_true[i, :2]))
            else []
        )
        wz = warned.get(rid, [])
        bursts = t.get("engagements", [])
        row = {
            "threat_index": i,
            "threat_id": rid,
            "threat_type": t["type"],
            "category": t["category"],
            "launch_time_s": t["launch"]["time_s"],
            "launch_lat": t["launch"]["lat"],
            "launch_lon": t["launch"]["lon"],
            "outcome": t.get("outcome", "not_engaged"),
            "not_engaged_reason": t.get("not_engaged_reason"),
            "threatened_protected": any(z in protected for z in would),
            "threatened_zone": next((z for z in would if z in protected), None),
            "impact_time_s": im["time_s"] if im else None,
            "impact_lat": im["lat"] if im else None,
            "impact_lon": im["lon"] if im else None,
            "impact_zone": t["zone"],
            "impact_zones": list(t["zones"]),
            "leaked_protected": bool(im) and any(z in protected for z in t["zones"]),
            "leak_zone": next((z for z in t["zones"] if z in protected), None) if im else None,
            "first_plot_s": tr.get("first_plot_s"),
            "first_confirmed_s": tr.get("first_confirmed_s"),
            "warning_s": min((w for _, w, _ in wz), default=None),
            "warning_zones": [z for z, _, _ in wz],
            "warning_times_s": [w for _, w, _ in wz],
            "own_track_warning_s": min((o for _, _, o in wz if o is not None), default=None),
            "own_track_warning_times_s": [o for _, _, o in wz],
            "missed_warning_zones": missed.get(rid, []),
            "bursts": len(bursts),
            "rounds_fired": int(sum(b["rounds"] for b in bursts)),
            "intercept_time_s": icp["time_s"] if icp else None,
            "intercept_alt_m": icp["alt_m"] if icp else None,
            "intercept_gun": icp["gun"] if icp else None,
        }
        for lead in LEADS_S:
            e_imp, e_org = pred.get((i, lead), (None, None))
            row[f"impact_err_m_{lead:g}s"] = e_imp
            row[f"origin_err_m_{lead:g}s"] = e_org
        e_imp, e_org = pred.get((i, "first"), (None, None))
        row["impact_err_m_first"] = e_imp
        row["origin_err_m_first"] = e_org
        rows.append(row)
    extra = {
        "n_threats": len(rows),
        "intercepted": sum(r["outcome"] == "intercepted" for r in rows),
        "leakers_protected": sum(r["leaked_protected"] for r in rows),
        "false_alerts": len(warn.get("false_alerts", [])),
        "missed_warnings": len(warn.get("missed_warnings", [])),
        "alerts_raised": len(warn.get("false_alerts", [])) + len(warn.get("warning_times_s", [])),
        "rounds_fired": int(sum(r["rounds_fired"] for r in rows)),
        "bursts": int(sum(r["bursts"] for r in rows)),
        "end_time_s": summary["end_time_s"],
    }
    return rows, extra


def _prediction_errors(result, t_imp_true, p_imp_true) -> dict:
    """Horizontal error of the latest impact and origin predictions made (by measurement
    time) at each lead before the true impact, and of the first ones, per round."""
    log = result.predictions or []
    if not log:
        return {}
    truth = result.world.truth
    origin = np.array([r.launch_enu_m[:2] for r in truth.rounds])
    t = np.array([e.measured_s for e in log])
    tid = np.array([e.truth_id for e in log])
    imp = np.array([e.impact_en_m for e in log])
    imp_ok = np.array([e.impact_ok for e in log])
    org = np.array([e.origin_en_m for e in log])
    org_ok = np.array([e.origin_ok for e in log])
    out: dict = {}
    # tracks on truth that is not a round (an aircraft) made predictions too: not scored
    for i in np.unique(tid[(tid >= 0) & (tid < len(truth.rounds))]):
        sel = tid == i
        e_imp = np.hypot(*(imp[sel] - p_imp_true[i, :2]).T)
        e_org = np.hypot(*(org[sel] - origin[i]).T)
        ti, oki, oko = t[sel], imp_ok[sel], org_ok[sel]
        for lead in (*LEADS_S, "first"):
            before = (
                np.ones(ti.size, bool) if lead == "first" else ti <= t_imp_true[i] - float(lead)
            )
            a = np.flatnonzero(before & oki)
            b = np.flatnonzero(before & oko)
            pick = 0 if lead == "first" else -1
            out[(int(i), lead)] = (
                _err(e_imp[a[pick]], 2) if a.size else None,
                _err(e_org[b[pick]], 2) if b.size else None,
            )
    return out
