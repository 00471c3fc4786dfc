"""Two runs on the same extract write the same bytes, in every format (metadata key order included).

Nothing in an output depends on the clock, the machine or the order polars happens to finish
work in; the report's footer carries a timestamp only with ``--timestamp``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from pakkeforlop_cli.main import app

SAMPLE = Path(__file__).parent.parent / "sample_data" / "extract.parquet"
runner = CliRunner()

RUNS: list[list[str]] = [
    ["indicators", "{src}", "-o", "{out}/t.csv"],
    ["indicators", "{src}", "-o", "{out}/t.parquet"],
    ["indicators", "{src}", "-o", "{out}/t.json", "--by", "health_region,pathway_type"],
    ["indicators", "{src}", "-o", "{out}/t.xlsx"],
    ["indicators", "{src}", "-o", "{out}/t.parquet", "--partitions", "3"],
    ["validate", "{src}", "--report", "{out}/f.csv"],
    ["validate", "{src}", "--report", "{out}/f.json"],
    ["validate", "{src}", "--report", "{out}/f.parquet"],
    ["validate", "{src}", "--report", "{out}/f.xml", "--format", "junit"],
    ["timeline", "{src}", "-o", "{out}/p.csv"],
    ["timeline", "{src}", "-o", "{out}/p.parquet"],
    ["timeline", "{src}", "-o", "{out}/p.json"],
    ["report", "{src}", "-o", "{out}/r.html"],
    ["synth", "--pathways", "300", "--seed", "4", "--errors", "0.05", "-o", "{out}/s.csv"],
    ["synth", "--pathways", "300", "--seed", "4", "-o", "{out}/s.parquet"],
]


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.mark.parametrize("args", RUNS, ids=lambda a: f"{a[0]} {a[-1].rsplit('/', 1)[-1]}")
def test_two_runs_write_the_same_bytes(tmp_path: Path, args: list[str]) -> None:
    written = []
    for run in ("a", "b"):
        out = tmp_path / run
        out.mkdir()
        result = runner.invoke(app, [a.format(src=SAMPLE, out=out) for a in args])
        assert result.exit_code in (0, 1), result.output
        written.append(_files(out))
    assert written[0].keys() == written[1].keys() and written[0]
    for name in written[0]:
        assert written[0][name] == written[1][name], name
