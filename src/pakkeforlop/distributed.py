"""Indicators of an extract computed on a Dask cluster, partition by partition, exactly.

The optional extra ``pip install 'pakkeforlop[distributed]'`` brings ``dask[distributed]``; this
module itself imports nothing from Dask: it takes a connected client (``distributed.Client``) and
uses Dask's own scheduling (``client.submit``, ``client.map``, ``client.gather``) to run the steps
of :mod:`pakkeforlop.partition` on the workers:

1. one worker writes the extract as patient partitions
   (:func:`~pakkeforlop.partition.partition_extract`, one streaming pass);
2. the workers turn the partitions into pathways and partial indicator results, one task per
   partition (:func:`~pakkeforlop.partition.run_partition`);
3. the client adds the small partial results up (:func:`~pakkeforlop.partition.combine`).

The partition folder must be readable by every worker and the client: on one machine (a
``LocalCluster``) any folder; across machines a shared file system. See docs/distributed.md,
which also shows the same with Spark.
"""

from __future__ import annotations

import datetime as dt
import functools
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Protocol, Unpack

from pakkeforlop.codes import DEFAULT_EDITION, load_catalogue
from pakkeforlop.indicators import IndicatorTable, combine_partials
from pakkeforlop.indicators.models import SuppressionPolicy
from pakkeforlop.io._sources import SourceLike
from pakkeforlop.io.read import ColumnsLike
from pakkeforlop.partition import (
    IndicatorOptions,
    PartitionPlan,
    PartitionResult,
    combine,
    partition_extract,
    run_partition,
)

__all__ = ["DaskClient", "compute_indicators_dask"]


class DaskClient(Protocol):
    """What this module needs of a ``distributed.Client`` (so Dask stays an optional extra)."""

    def submit(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run one task on a worker; returns a future."""

    def map(self, func: Callable[..., Any], *iterables: Iterable[Any], **kwargs: Any) -> Any:
        """Run a task per element on the workers; returns futures."""

    def gather(self, futures: Any) -> Any:
        """Wait for futures and fetch their results."""


def compute_indicators_dask(
    source: SourceLike,
    client: DaskClient,
    n_partitions: int,
    *,
    directory: str | Path | None = None,
    columns: ColumnsLike | None = None,
    as_of: dt.date | None = None,
    edition: str = DEFAULT_EDITION,
    extension: str | Path | None = None,
    suppress: bool = True,
    policy: str | SuppressionPolicy = "nki",
    level: float = 0.95,
    **options: Unpack[IndicatorOptions],
) -> IndicatorTable:
    """Indicators of an extract, its patient partitions run as tasks on a Dask cluster.

    The same table and metadata as :func:`pakkeforlop.compute_indicators` on the whole extract
    read in memory (and as ``pakkeforlop indicators``): every pathway lives inside one patient,
    counts add up and day quantiles come from merged histograms (see
    :mod:`pakkeforlop.partition`).

    Args:
        source: The extract (as in :func:`pakkeforlop.read_extract`), readable by the workers.
        client: A connected ``distributed.Client``.
        n_partitions: Number of partitions (tasks), 1 to
            :data:`~pakkeforlop.partition.MAX_PARTITIONS`; more partitions, less memory per task.
        directory: Folder for the partitions, readable and writable by every worker (a shared
            file system across machines). A temporary folder on this machine, removed
            afterwards, when ``None`` (fine for a ``LocalCluster``).
        columns: Column mapping, as in :func:`pakkeforlop.read_extract`.
        as_of: The extract's reference date (default: its latest event date).
        edition: Code catalogue edition.
        extension: Catalogue extension file with local codes.
        suppress: As in :func:`pakkeforlop.compute_indicators`.
        policy: As in :func:`pakkeforlop.compute_indicators`.
        level: As in :func:`pakkeforlop.compute_indicators`.
        **options: Indicator settings (:class:`~pakkeforlop.partition.IndicatorOptions`).

    Returns:
        The :class:`~pakkeforlop.indicators.IndicatorTable`.

    Raises:
        ConfigurationError: For invalid settings (checked before anything is submitted).
        ExtractError: If the extract cannot be read (raised from the worker's task).
        MappingError: If a required column is missing (likewise).
    """
    # settings are checked here, before the cluster reads anything
    combine_partials(
        [],
        catalogue=load_catalogue(edition, extension=extension),
        suppress=suppress,
        policy=policy,
        level=level,
        **options,
    )
    with tempfile.TemporaryDirectory(prefix="pakkeforlop-dask-") as temp:
        folder = Path(directory) if directory is not None else Path(temp)
        planned = client.submit(
            partition_extract,
            source,
            folder,
            n_partitions,
            columns=columns,
            as_of=as_of,
            edition=edition,
            extension=extension,
            pure=False,
        )
        plan: PartitionPlan = client.gather(planned)
        task = functools.partial(run_partition, plan, **options)
        futures = client.map(task, range(plan.n_partitions), pure=False)
        results: list[PartitionResult] = client.gather(futures)
        return combine(results, plan, suppress=suppress, policy=policy, level=level, **options)
