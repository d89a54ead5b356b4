"""Campaign: Monte Carlo campaigns, a reader that runs the whole chain many times. N seeded
variants of a scenario (for each layout), run one by one in this process, over local
processes or on a Ray cluster, saved as they finish, resumable, summarised and reported
(docs/campaigns.md).

- :mod:`~opencram.campaign.runner`: a campaign from start to report (``run_campaign``);
- :mod:`~opencram.campaign.vary`: ``KEY=DISTRIBUTION`` variations and layout overrides of
  a scenario, each option drawn from its own seeded stream;
- :mod:`~opencram.campaign.worker`: one run in memory, reduced to rows (never raises for a
  failing run);
- :mod:`~opencram.campaign.executor`: the inline, local-process and Ray executors;
- :mod:`~opencram.campaign.store`: Parquet parts written atomically, the manifest, resume;
- :mod:`~opencram.campaign.resume`: the folder's lock, and failed runs retried;
- :mod:`~opencram.campaign.summary`: per-layout figures with intervals, and the ranking;
- :mod:`~opencram.campaign.report`: the self-contained HTML campaign report.

Exported here: the variations, the worker and the executors. Import
:mod:`~opencram.campaign.runner`, :mod:`~opencram.campaign.store`,
:mod:`~opencram.campaign.summary` and :mod:`~opencram.campaign.report` directly: they pull
pyarrow and matplotlib, which every worker process (local or Ray, each importing
:mod:`~opencram.campaign.worker`) would otherwise load too.
"""

from opencram.campaign.executor import EXECUTORS, check_reachable, default_workers, execute
from opencram.campaign.vary import (
    DISTRIBUTIONS,
    Distribution,
    Vary,
    apply_overrides,
    apply_varies,
    check_varies,
    parse_distribution,
    parse_path,
    parse_vary,
)
from opencram.campaign.worker import Task, run_task

__all__ = [
    "DISTRIBUTIONS",
    "EXECUTORS",
    "Distribution",
    "Task",
    "Vary",
    "apply_overrides",
    "apply_varies",
    "check_reachable",
    "check_varies",
    "default_workers",
    "execute",
    "parse_distribution",
    "parse_path",
    "parse_vary",
    "run_task",
]
