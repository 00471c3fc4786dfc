"""Where `pakkeforlop indicators` spends its time: the same stages as the CLI, timed one by one.

``python benchmarks/profile_indicators.py EXTRACT [--json OUT]`` runs read → timeline →
indicators in-process, collecting the pathway table between the timeline and the indicators so
that each stage's wall time and the process's peak memory after it can be told apart. Collecting
in between can cost a little more than the CLI's single lazy plan; it is a profile, not the
measurement.

Polars 2 removed ``LazyFrame.profile`` (no per-node timings from the streaming engine), so
with ``--collects`` the script also wraps ``LazyFrame.collect`` and ``pl.collect_all`` and
reports the wall time spent in each call site in pakkeforlop (file:line), the slowest first:
the plans that dominate.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path

import polars as pl

from pakkeforlop import build_pathways, compute_indicators, load_catalogue, read_extract


def _peak_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 if sys.platform != "darwin" else peak / 1024 / 1024


class CollectTimer:
    """Wall time per ``LazyFrame.collect`` / ``pl.collect_all`` call site in pakkeforlop."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        self._collect = pl.LazyFrame.collect
        self._collect_all = pl.collect_all
        self._depth = 0

    def _site(self) -> str:
        frame = sys._getframe(2)
        while frame is not None:
            name = frame.f_code.co_filename
            if "pakkeforlop" in name and f"{os.sep}polars{os.sep}" not in name:
                short = name.split(f"src{os.sep}pakkeforlop{os.sep}")[-1]
                return f"{short}:{frame.f_lineno} ({frame.f_code.co_name})"
            frame = frame.f_back
        return "elsewhere"

    def _timed(self, original: Callable[..., object]) -> Callable[..., object]:
        def timed(*args: object, **kwargs: object) -> object:
            if self._depth:  # only the outermost call counts
                return original(*args, **kwargs)
            site = self._site()
            self._depth += 1
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self._depth -= 1
                took = time.perf_counter() - started
                self.seconds[site] = self.seconds.get(site, 0.0) + took
                self.calls[site] = self.calls.get(site, 0) + 1

        return timed

    def __enter__(self) -> CollectTimer:
        pl.LazyFrame.collect = self._timed(self._collect)  # type: ignore[method-assign]
        pl.collect_all = self._timed(self._collect_all)  # type: ignore[assignment]
        return self

    def __exit__(self, *exc: object) -> None:
        pl.LazyFrame.collect = self._collect  # type: ignore[method-assign]
        pl.collect_all = self._collect_all

    def slowest(self, n: int = 12) -> list[dict[str, object]]:
        ranked = sorted(self.seconds.items(), key=lambda kv: -kv[1])[:n]
        return [
            {"site": site, "wall_s": round(s, 3), "calls": self.calls[site]} for site, s in ranked
        ]


def profile(path: str, *, collects: bool = False) -> dict[str, object]:
    timer = CollectTimer()
    if collects:
        with timer:
            result = _stages(path)
        result["collects"] = timer.slowest()
        return result
    return _stages(path)


def _stages(path: str) -> dict[str, object]:
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
    parser.add_argument(
        "--collects", action="store_true", help="time each LazyFrame.collect call site too"
    )
    args = parser.parse_args(argv)
    result = profile(args.extract, collects=args.collects)
    text = json.dumps(result, indent=1)
    print(text)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
