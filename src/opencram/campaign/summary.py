"""The campaign summary: what the runs say about protection, warning and cost, per layout,
and the layouts ranked.

Figures per layout (a "salvo" is one run's attack):

- probability of intercept of an engaged threat (``p_intercept_engaged``: intercepted
  over threats with at least one burst fired at them), the share of all threats
  intercepted (``p_intercept_all``: pooled, never-engaged threats included), the share of
  threats that would have hit a protected zone intercepted (``p_intercept_threatening``),
  and the probability that a threat leaks into a protected zone, each with a Wilson 95 %
  interval (``scipy.stats.binomtest``); threats of one run are counted as independent;
- leakers per salvo (mean, distribution, chance of at least one) and leakers by zone;
- warning time (zone hit by a landing threat: time from the raise of the zone's alert to
  the impact, whichever threat's track raised it): distribution and a bootstrap 95 %
  interval on its median (``scipy.stats.bootstrap``); and the own-track warning time (from
  the first alert listing one of the threat's own tracks), with the zone hits whose alert
  never listed the threat's own tracks;
- false alerts per run and as a share of all alerts raised; missed warnings;
- ammunition: rounds per burst, per threat engaged and per kill;
- horizontal error of the impact and origin predictions at fixed times before impact.

Layouts are ranked by mean leakers per salvo, then by the median warning time (longer is
better). Because every layout runs the same seeds (common random numbers), each layout
is also compared with the best one run by run: the mean difference in leakers per salvo
with a bootstrap interval over runs.
"""

from __future__ import annotations

import inspect
import math
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from scipy.stats import binomtest, bootstrap

from opencram.campaign.worker import LEADS_S
from opencram.scenario.load import load

CONFIDENCE = 0.95
BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 20211219


def _r(x: Any, nd: int = 4) -> float | None:
    if x is None:
        return None
    x = float(x)
    if not math.isfinite(x):
        return None
    v = round(x, nd)
    return 0.0 if v == 0 else v


def wilson(k: int, n: int) -> dict[str, Any]:
    """Proportion ``k/n`` with its Wilson score interval."""
    if n == 0:
        return {"k": 0, "n": 0, "p": None, "ci95": [None, None]}
    ci = binomtest(int(k), int(n)).proportion_ci(confidence_level=CONFIDENCE, method="wilson")
    return {"k": int(k), "n": int(n), "p": _r(k / n), "ci95": [_r(ci.low), _r(ci.high)]}


def bootstrap_ci(x: np.ndarray, statistic=np.median) -> list[float | None]:
    """Percentile bootstrap interval of ``statistic`` over the values ``x`` (seeded)."""
    x = np.asarray(x, dtype=float)
    if x.size == 0:
        return [None, None]
    if x.size == 1 or np.ptp(x) == 0:
        v = _r(statistic(x), 3)
        return [v, v]
    seed_kw = (
        {"rng": np.random.default_rng(BOOTSTRAP_SEED)}
        if "rng" in inspect.signature(bootstrap).parameters
        else {"random_state": np.random.default_rng(BOOTSTRAP_SEED)}
    )
    res = bootstrap(
        (x,),
        statistic,
        n_resamples=BOOTSTRAP_RESAMPLES,
        confidence_level=CONFIDENCE,
        method="percentile",
        vectorized=True,
        axis=-1,
        **seed_kw,
    )
    return [_r(res.confidence_interval.low, 3), _r(res.confidence_interval.high, 3)]


def _dist(x: np.ndarray, nd: int = 3) -> dict[str, Any]:
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return {"n": 0}
    q = np.percentile(x, [5, 50, 90, 95])
    return {
        "n": int(x.size),
        "mean": _r(x.mean(), nd),
        "min": _r(x.min(), nd),
        "p5": _r(q[0], nd),
        "median": _r(q[1], nd),
        "p90": _r(q[2], nd),
        "p95": _r(q[3], nd),
        "max": _r(x.max(), nd),
    }


def _col(t: pa.Table, name: str) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in t.column(name).to_pylist()], float)


def _filter(t: pa.Table, column: str, value) -> pa.Table:
    return t.filter(pc.equal(t.column(column), value))


def warning_times(threats: pa.Table, missed: int) -> dict[str, Any]:
    """Distributions (s) of the zone warning and of the own-track warning over the zone
    hits warned, with bootstrap intervals on their medians; ``missed``: missed warnings."""
    lists = threats.column("warning_times_s").to_pylist()
    own_lists = threats.column("own_track_warning_times_s").to_pylist()
    zone = np.array([w for ws in lists for w in ws], float)
    own_all = [w for ws in own_lists for w in ws]
    own = np.array([w for w in own_all if w is not None], float)
    return {
        "warning_time_s": {
            **_dist(zone),
            "median_ci95": bootstrap_ci(zone),
            "missed_warnings": missed,
        },
        "own_track_warning_time_s": {
            **_dist(own),
            "median_ci95": bootstrap_ci(own),
            "not_by_own_track": sum(w is None for w in own_all),
        },
    }


def scenario_zones(source: str) -> list[dict[str, Any]]:
    """The zones of the campaign's scenario (its ``source``: a path or ``builtin:NAME``) as
    written, before any layout override: name, kind and outlines as [lat, lon] degrees."""
    name = source.removeprefix("builtin:")
    loaded = load(name)
    return [
        {
            "name": z.name,
            "kind": z.kind,
            "rings": [[[_r(lat, 7), _r(lon, 7)] for lat, lon in ring] for ring in rings],
        }
        for z, rings in zip(loaded.scenario.zones, loaded.zone_rings, strict=True)
    ]


def layout_summary(runs: pa.Table, threats: pa.Table) -> dict[str, Any]:
    """Summary of one layout's rows."""
    status = runs.column("status").to_pylist()
    ok = [i for i, s in enumerate(status) if s == "ok"]
    failed = [
        {"run": r, "seed": s, "error": e}
        for r, s, e, st in zip(
            runs.column("run").to_pylist(),
            runs.column("seed").to_pylist(),
            runs.column("error").to_pylist(),
            status,
            strict=True,
        )
        if st != "ok"
    ]
    rok = runs.take(pa.array(ok, pa.int64()))  # typed: an empty list would be null
    n_runs = len(ok)
    outcome = threats.column("outcome").to_pylist()
    threatening = threats.column("threatened_protected").to_pylist()
    leaked = threats.column("leaked_protected").to_pylist()
    n = len(outcome)
    icp = [o == "intercepted" for o in outcome]
    engaged = [r > 0 for r in _col(threats, "rounds_fired")]  # a burst was fired at it
    leakers = _col(rok, "leakers_protected")
    by_zone: dict[str, int] = {}
    for z in threats.column("leak_zone").to_pylist():
        if z is not None:
            by_zone[z] = by_zone.get(z, 0) + 1
    counts = np.bincount(leakers.astype(int)) if leakers.size else np.zeros(0, int)
    missed = int(np.nansum(_col(rok, "missed_warnings")))
    false_alerts = _col(rok, "false_alerts")
    raised = _col(rok, "alerts_raised")
    bursts = _col(rok, "bursts")
    rounds = _col(rok, "rounds_fired")
    t_bursts = _col(threats, "bursts")
    t_rounds = _col(threats, "rounds_fired")
    kills = int(sum(icp))
    detect = _col(threats, "first_plot_s") - _col(threats, "launch_time_s")
    prediction = {}
    for lead in (*(f"{x:g}s" for x in LEADS_S), "first"):
        prediction[lead] = {
            "impact_err_m": _dist(_col(threats, f"impact_err_m_{lead}"), 1),
            "origin_err_m": _dist(_col(threats, f"origin_err_m_{lead}"), 1),
        }
    return {
        "runs": {"total": len(status), "ok": n_runs, "failed": len(failed)},
        "failed_runs": failed[:20],
        "threats": n,
        "engaged": int(sum(engaged)),
        "p_intercept_engaged": wilson(
            sum(i and e for i, e in zip(icp, engaged, strict=True)), sum(engaged)
        ),
        "p_intercept_all": wilson(sum(icp), n),
        "p_intercept_threatening": wilson(
            sum(i and t for i, t in zip(icp, threatening, strict=True)), sum(threatening)
        ),
        "p_leak_protected": wilson(sum(leaked), n),
        "leakers_per_salvo": {
            "mean": _r(leakers.mean()) if n_runs else None,
            "mean_ci95": bootstrap_ci(leakers, np.mean) if n_runs else [None, None],
            "distribution": {str(k): int(c) for k, c in enumerate(counts)},
            "p_any": wilson(int(np.sum(leakers > 0)), n_runs),
        },
        "leakers_by_zone": {
            z: {"count": c, "per_salvo": _r(c / n_runs) if n_runs else None}
            for z, c in sorted(by_zone.items())
        },
        **warning_times(threats, missed),
        "false_alerts": {
            "per_run": _r(np.mean(false_alerts)) if n_runs else None,
            "total": int(np.nansum(false_alerts)),
            "share_of_alerts": wilson(int(np.nansum(false_alerts)), int(np.nansum(raised))),
        },
        "ammunition": {
            "rounds_total": int(np.nansum(rounds)),
            "bursts_total": int(np.nansum(bursts)),
            "rounds_per_burst": _r(np.nansum(rounds) / np.nansum(bursts), 2)
            if np.nansum(bursts)
            else None,
            "rounds_per_threat_engaged": _r(np.mean(t_rounds[t_bursts > 0]), 2)
            if np.any(t_bursts > 0)
            else None,
            "rounds_per_kill": _r(np.nansum(rounds) / kills, 2) if kills else None,
        },
        "first_detection_after_launch_s": _dist(detect),
        "prediction_error": prediction,
    }


def summarize(
    runs: pa.Table, threats: pa.Table, layouts: list[str], settings: dict[str, Any]
) -> dict[str, Any]:
    """The campaign summary (summary.json) with the layouts ranked."""
    per = {}
    leak_runs: dict[str, dict[int, float]] = {}
    for name in layouts:
        r = _filter(runs, "layout", name)
        t = _filter(threats, "layout", name)
        per[name] = layout_summary(r, t)
        ok = [s == "ok" for s in r.column("status").to_pylist()]
        leak_runs[name] = {
            run: float(v)
            for run, v, good in zip(
                r.column("run").to_pylist(), _col(r, "leakers_protected"), ok, strict=True
            )
            if good
        }

    def key(name: str):
        s = per[name]
        mean = s["leakers_per_salvo"]["mean"]
        med = s["warning_time_s"].get("median")
        return (math.inf if mean is None else mean, -(med if med is not None else -math.inf))

    order = sorted(layouts, key=key)
    ranking = []
    best = order[0] if order else None
    for rank, name in enumerate(order, 1):
        s = per[name]
        entry = {
            "rank": rank,
            "layout": name,
            "leakers_per_salvo": s["leakers_per_salvo"]["mean"],
            "leakers_per_salvo_ci95": s["leakers_per_salvo"]["mean_ci95"],
            "p_leak_protected": s["p_leak_protected"]["p"],
            "p_leak_protected_ci95": s["p_leak_protected"]["ci95"],
            "median_warning_s": s["warning_time_s"].get("median"),
            "median_warning_s_ci95": s["warning_time_s"]["median_ci95"],
        }
        if name != best:
            common = sorted(set(leak_runs[name]) & set(leak_runs[best]))
            d = np.array([leak_runs[name][k] - leak_runs[best][k] for k in common])
            entry["vs_best"] = {
                "layout": best,
                "paired_runs": len(common),
                "mean_extra_leakers_per_salvo": _r(d.mean()) if d.size else None,
                "ci95": bootstrap_ci(d, np.mean),
            }
        ranking.append(entry)
    return {
        "settings": settings,
        "ranking": ranking,
        "layouts": per,
        "zones": scenario_zones(settings["scenario"]),
    }
