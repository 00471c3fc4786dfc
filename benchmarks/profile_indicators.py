"""Where `pakkeforlop indicators` spends its time: the same stages as the CLI, timed one by one.

``python benchmarks/profile_indicators.py EXTRACT [--json OUT]`` runs read → timeline →
indicators in-process, collecting the pathway table between the timeline and the indicators so
that each stage's wall time and the process's peak memory after it can be told apart. Collecting
in between can cost a little more than the CLI's single lazy plan; it is a profile, not the
measurement.

(polars 2 removed ``LazyFrame.profile``: per-node timings are not available from the streaming
engine, so this stage split is the finest-grained profile without a native profiler.)
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import polars as pl

from pakkeforlop import build_pathways, compute_indicators, load_catalogue, read_extract


def _peak_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 if sys.platform != "darwin" else peak / 1024 / 1024


def profile(path: str) -> dict[str, object]:
    stages: list[dict[str, object]] = []
    clock = time.perf_counter()

    def done(name: str, rows: int) -> None:
        nonlocal clock
        now = time.perf_counter()
        stages.append(
            {
                "stage": name,
                "wall_s": round(now - clock, 3),
                "peak_mb": round(_peak_mb()),
                "rows": rows,
            }
        )
        clock = now

    catalogue = load_catalogue("2024")
    read = read_extract(path)
    done("read_extract (canonical events + reader findings)", read.events.height)

    timeline = build_pathways(read.events, catalogue=catalogue)
    pathways = timeline.pathways.collect()
    done("build_pathways: pathway table", pathways.height)

    findings = timeline.findings.collect()
    done("build_pathways: timeline findings", findings.height)

    table = compute_indicators(
        pathways.lazy(),
        by=["pathway_type"],
        catalogue=catalogue,
        reference_date=read.info.reference_date,
        input_rows=read.info.rows_read,
        findings=pl.concat([read.findings, findings], how="diagonal_relaxed"),
    )
    done("compute_indicators", table.height)

    return {"extract": path, "stages": stages}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("extract")
    parser.add_argument("--json", type=Path, help="also write the result here")
    args = parser.parse_args(argv)
    result = profile(args.extract)
    text = json.dumps(result, indent=1)
    print(text)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
