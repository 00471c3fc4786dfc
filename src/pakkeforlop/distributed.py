"""Indicators of an extract computed on a Dask cluster, partition by partition, exactly.

The optional extra ``pip install 'pakkeforlop[distributed]'`` brings ``dask[distributed]``; this
module itself imports nothing from Dask: it takes a connected client (``distributed.Client``) and
uses Dask's own scheduling (``client.submit``, ``client.map``, ``client.gather``) to run the
steps of :func:`pakkeforlop.pipeline.run_indicators` on the workers (:class:`DaskExecutor`):

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
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol, TypeVar

from pakkeforlop.codes import DEFAULT_EDITION
from pakkeforlop.errors import checked
from pakkeforlop.indicators import IndicatorTable
from pakkeforlop.indicators.settings import IndicatorSettings
from pakkeforlop.io.read import ColumnsLike
from pakkeforlop.io.settings import ReadSettings
from pakkeforlop.io.sources import SourceLike
from pakkeforlop.pipeline import run_indicators

__all__ = ["DaskClient", "DaskExecutor", "compute_indicators_dask"]

T = TypeVar("T")


class DaskClient(Protocol):
    """What this module needs of a ``distributed.Client`` (so Dask stays an optional extra)."""

    def submit(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run one task on a worker; returns a future."""

    def map(self, func: Callable[..., Any], *iterables: Iterable[Any], **kwargs: Any) -> Any:
        """Run a task per element on the workers; returns futures."""

    def gather(self, futures: Any) -> Any:
        """Wait for futures and fetch their results."""


class DaskExecutor:
    """A :class:`pakkeforlop.pipeline.Executor` that runs the tasks on a Dask cluster.

    Args:
        client: A connected ``distributed.Client``.
    """

    def __init__(self, client: DaskClient) -> None:
        self.client = client

    def one(self, func: Callable[..., T], *args: Any) -> T:
        """Run one task on a worker."""
        result: T = self.client.gather(self.client.submit(func, *args, pure=False))
        return result

    def each(self, func: Callable[[int], T], items: Sequence[int]) -> list[T]:
        """Run one task per item on the workers."""
        futures = self.client.map(func, list(items), pure=False)
        return list(self.client.gather(futures))


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
    treatment_start: str | None = None,
    settings: IndicatorSettings | None = None,
    **options: Any,
) -> IndicatorTable:
    """Indicators of an extract, its patient partitions run as tasks on a Dask cluster.

    The same table and metadata as :func:`pakkeforlop.pipeline.run_indicators` in one piece
    (and as ``pakkeforlop indicators``): every pathway lives inside one patient, counts add up
    and day quantiles come from merged histograms (see :mod:`pakkeforlop.partition`).

    Args:
        source: The extract (as in :func:`pakkeforlop.read_extract`), readable by the workers.
        client: A connected ``distributed.Client``.
        n_partitions: Number of partitions (tasks), 1 to
            :data:`~pakkeforlop.partition.MAX_PARTITIONS`; more partitions, less memory per task.
        directory: Folder for the partitions, readable and writable by every worker (a shared
            file system across machines). A temporary folder on this machine, removed
            afterwards, when ``None`` (fine for a ``LocalCluster``).
        columns: Column mapping, as in :func:`pakkeforlop.read_extract`.
        as_of: The extract's reference date (default: the latest date of a usable registration).
        edition: Code catalogue edition.
        extension: Catalogue extension file with local codes.
        treatment_start: The named treatment-start rule (:class:`~pakkeforlop.ReadSettings`).
        settings: The indicator settings as one
            :class:`~pakkeforlop.indicators.IndicatorSettings`; or give its fields as keywords
            (``period``, ``by``, ``suppress`` … as in :func:`pakkeforlop.compute_indicators`).
        **options: The fields of :class:`~pakkeforlop.indicators.IndicatorSettings`.

    Returns:
        The :class:`~pakkeforlop.indicators.IndicatorTable`.

    Raises:
        ConfigurationError: For invalid settings (checked before anything is submitted).
        ExtractError: If the extract cannot be read (raised from the worker's task).
        MappingError: If a required column is missing (likewise).
    """
    read = checked(
        ReadSettings,
        columns=columns,
        as_of=as_of,
        edition=edition,
        extension=extension,
        treatment_start=treatment_start,
    )
    chosen = settings if settings is not None else checked(IndicatorSettings, **options)
    return run_indicators(
        source,
        read,
        chosen,
        partitions=n_partitions,
        directory=directory,
        executor=DaskExecutor(client),
    )
