"""The Dask path: partitions run as tasks on a local cluster give exactly the in-memory table.

The cluster (two worker processes, one thread each) is started and closed by the test.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from polars.testing import assert_frame_equal
from typer.testing import CliRunner

from pakkeforlop import IndicatorSettings, run_indicators
from pakkeforlop.distributed import compute_indicators_dask
from pakkeforlop.errors import ConfigurationError
from pakkeforlop.synth import write_synthetic
from pakkeforlop_cli.main import app

distributed = pytest.importorskip("distributed")  # in the test extra: runs by default


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        distributed.Client(cluster) as connected,
    ):
        yield connected


def test_dask_equals_in_memory(client: Any, tmp_path: Path) -> None:
    path = tmp_path / "extract.parquet"
    # about 21,000 registrations with injected errors, exact duplicates among them
    write_synthetic(path, 3000, seed=12, error_rate=0.02)
    options = {"by": "pathway_type,sex", "period": "year"}
    whole = run_indicators(path, indicators=IndicatorSettings(**options), partitions=None)
    out = compute_indicators_dask(
        path,
        client,
        5,
        directory=tmp_path / "parts",
        treatment_start="first_registration_after_detox",
        **options,
    )
    assert_frame_equal(out, whole, check_exact=True)
    assert out.metadata == whole.metadata
    assert out.metadata.treatment_start is not None
    assert out.metadata.treatment_start.startswith("first_registration_after_detox")
    assert len(list((tmp_path / "parts" / "events").glob("part-*.parquet"))) == 5


def test_dask_checks_settings_before_submitting(client: Any, tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="unknown stratum"):
        compute_indicators_dask(tmp_path / "missing.parquet", client, 2, by="colour")


# --- docs/distributed.md runs ---------------------------------------------------------------------

ROOT = Path(__file__).parent.parent
DOC = (ROOT / "docs" / "distributed.md").read_text(encoding="utf-8")


def _blocks(lang: str) -> list[str]:
    # ```python blocks run; the Spark wiring is a ```py block (no Spark here)
    return re.findall(rf"^```{lang}\n(.*?)^```", DOC, flags=re.DOTALL | re.MULTILINE)


def test_doc_examples_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_synthetic(tmp_path / "extract.parquet", 1500, seed=13, error_rate=0.02)
    monkeypatch.chdir(tmp_path)
    lines = [
        line
        for block in _blocks("bash")
        for line in block.splitlines()
        if line.startswith("pakkeforlop ")
    ]
    assert lines
    for line in lines:
        result = CliRunner().invoke(app, shlex.split(line)[1:])
        assert result.exit_code == 0, f"{line}\n{result.output}"
    blocks = _blocks("python")
    assert len(blocks) >= 4
    namespace: dict[str, object] = {}
    for i, block in enumerate(blocks, start=1):
        exec(compile(block, f"distributed.md block {i}", "exec"), namespace)  # our own doc
    assert "MEM_" not in DOC  # the measured figures are filled in


def test_a_broken_extract_on_the_cluster_is_the_same_one_line_error(
    client: Any, tmp_path: Path
) -> None:
    from pakkeforlop.errors import ExtractError

    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"PAR1 not a parquet file")
    with pytest.raises(ExtractError, match=r"broken\.parquet: cannot be read as Parquet"):
        compute_indicators_dask(broken, client, 2)
