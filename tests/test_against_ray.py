"""A small campaign on a real local Ray instance gives, for the same seeds, exactly the
rows of the local process-pool executor. Runs for real in CI (CI set); elsewhere it skips
only if Ray cannot be imported."""

from __future__ import annotations

import os

import pyarrow.parquet as pq
import pytest

from opencram.campaign.runner import run_campaign

try:
    import ray
except ImportError:  # pragma: no cover - depends on the machine
    ray = None

IN_CI = os.environ.get("CI", "").lower() not in ("", "0", "false")

if ray is None:
    if IN_CI:
        raise RuntimeError("Ray is required in CI (pip install -e '.[test]')")
    pytest.skip("ray is not installed", allow_module_level=True)

from test_campaign import VARY, quick_scenario, rows_without_timing  # noqa: E402


@pytest.fixture(scope="module")
def ray_instance():
    # one instance for the module: starting Ray takes several seconds
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def test_ray_results_equal_local_executor(ray_instance, tmp_path):
    quick = quick_scenario(tmp_path)
    common = dict(varies=VARY, on_progress=None, report=False)
    res_ray = run_campaign(str(quick), 3, out_dir=tmp_path / "ray", executor="ray", **common)
    res_loc = run_campaign(
        str(quick), 3, out_dir=tmp_path / "local", executor="local", workers=2, **common
    )
    assert ray.is_initialized()  # the campaign used the running instance, not its own
    for name in ("runs.parquet", "threats.parquet"):
        a = pq.read_table(tmp_path / "ray" / name)
        b = pq.read_table(tmp_path / "local" / name)
        assert a.num_rows == b.num_rows > 0
        assert rows_without_timing(a) == rows_without_timing(b)
    runs = pq.read_table(tmp_path / "ray" / "runs.parquet").to_pylist()
    assert [r["seed"] for r in runs] == [7, 8, 9] and all(r["status"] == "ok" for r in runs)
    assert res_ray.summary["layouts"] == res_loc.summary["layouts"]
    assert res_ray.summary["ranking"] == res_loc.summary["ranking"]
