"""Benchmark pakkeforlop against a polars lower bound, pandas and DuckDB (issue 7).

For each size (millions of registrations) it generates a synthetic extract by seed (cached under
``--cache``), then measures, one process per measurement, wall time and peak memory (the
process's maximum resident set size, from ``wait4``) of:

- (a) ``pakkeforlop indicators FILE -o OUT.parquet``: every indicator, by pathway type;
- (b) ``pakkeforlop validate FILE --report OUT.csv`` (exit code 1, findings, counts as done);
- (c) the lower bound: a bare polars scan, sort by patient and date, one group-by;
- (d) ``assessment_in_time`` in pandas, as an analyst writes it by hand;
- (e) the same in DuckDB SQL;
- (f) ``pakkeforlop indicators FILE --indicator assessment_in_time --by '' --no-suppress``: the
  like-for-like of (d) and (e), one indicator without strata or suppression;
- (g) the hash floor: every column read, one hash group-by per (patient, institution, type);
- (h) pathway instances reconstructed in DuckDB SQL (window functions) and five of (a)'s
  indicators computed on them, per tertial.

It writes ``--results`` (``benchmarks/RESULTS.md``): the machine, the load while it ran, one
table per size with the ratios to (c), (d), (e), (g) and (h), how far (d), (e) and (f) agree and
how far (h) agrees with (a), and which of the issue's targets hold. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import hashlib
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

import polars as pl

from pakkeforlop import synth
from pakkeforlop.indicators import OUTPUT_COLUMNS
from pakkeforlop.partition import MAX_ROWS_IN_ONE_PIECE
from pakkeforlop.synth import write_synthetic

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BASELINES = HERE / "baselines.py"

LABELS = {
    "a": "(a) pakkeforlop indicators",
    "b": "(b) pakkeforlop validate",
    "c": "(c) lower bound: polars scan + sort + group-by",
    "d": "(d) pandas assessment_in_time",
    "e": "(e) DuckDB SQL assessment_in_time",
    "f": "(f) pakkeforlop indicators, assessment_in_time only",
    "g": "(g) hash floor: polars read of every column + one hash group-by",
    "h": "(h) DuckDB SQL pathway instances + five indicators",
}
ALL = "abcdefgh"
CALIBRATION_PATHWAYS = 20_000

# Targets of issue 7 (2-core, 24 GB machine).
# the targets of issue 16 (on a 2-core, 24 GB machine, ratios from one run)
TARGET_SIZE_M = 100
TARGET_WALL_S = 60.0
TARGET_PEAK_MB = 6 * 1024
TARGET_VS_FLOOR = 2.5  # (a)/(g)
TARGET_VALIDATE_VS_FLOOR = 3.0  # (b)/(g)
TARGET_VS_PANDAS = 10.0  # (d)/(a)
TARGET_VS_DUCKDB_PATHWAYS = 2.0  # (h)/(a)


@dataclasses.dataclass
class Result:
    key: str
    status: str  # "ok", "failed", "timed out", "skipped (...)"
    wall_s: float | None = None
    cpu_s: float | None = None
    peak_mb: float | None = None
    rows: int | None = None
    load_1m: float | None = None
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "ok"


# --- machine ----------------------------------------------------------------------------------


def load_averages() -> tuple[float, float, float]:
    return os.getloadavg()


def meminfo_mb(field: str) -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def version_of(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def git_state() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "src", "cli"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    if dirty:
        n = len(dirty.splitlines())
        return f"{head} + {n} uncommitted change(s) under src/ or cli/"
    return head


# --- which pakkeforlop is measured -----------------------------------------------------------

# The environment of the measured processes: PYTHONPATH pointing at a snapshot of src/ and cli/
# at one commit (see use_snapshot), or None for the working tree the venv's editable install sees.
MEASURED_ENV: dict[str, str] | None = None
CLI_LAUNCH = "from pakkeforlop_cli.main import app; app(prog_name='pakkeforlop')"


def use_snapshot(rev: str, cache: Path) -> str:
    """Measure pakkeforlop as committed at ``rev``: ``git archive`` of src/ and cli/, cached.

    Others may be editing the working tree during a long run; a snapshot keeps every row of the
    table on one version, and names it. Returns the commit's short hash.
    """
    global MEASURED_ENV  # noqa: PLW0603 - set once, before any measurement
    sha = subprocess.run(
        ["git", "rev-parse", "--verify", f"{rev}^{{commit}}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    target = cache / f"code-{sha[:12]}"
    if not target.exists():
        partial = cache / f"code-{sha[:12]}.partial"
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        archive = subprocess.run(
            ["git", "archive", "--format=tar", sha, "src", "cli"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(partial)], input=archive, check=True)
        partial.replace(target)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(target / "src"), str(target / "cli")])
    MEASURED_ENV = env
    return sha[:10]


def cli() -> list[str]:
    """The ``pakkeforlop`` command of the measured version."""
    if MEASURED_ENV is not None:
        return [sys.executable, "-c", CLI_LAUNCH]
    found = shutil.which("pakkeforlop", path=str(Path(sys.executable).parent))
    return [found or "pakkeforlop"]


# --- data -------------------------------------------------------------------------------------


def synth_fingerprint() -> str:
    """Short hash of the generator's source and data: a changed generator means new files."""
    digest = hashlib.sha256()
    for path in sorted(Path(synth.__file__).parent.rglob("*")):
        if path.is_file() and path.suffix in {".py", ".toml", ".json", ".csv"}:
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:8]


def size_label(size_m: float) -> str:
    return f"{size_m:g}M"


def rows_per_pathway(cache: Path, seed: int, fingerprint: str) -> float:
    """Registrations per pathway instance, from a small run of the generator (cached)."""
    note = cache / f"calibration_seed{seed}_{fingerprint}.json"
    if note.exists():
        return float(json.loads(note.read_text())["rows_per_pathway"])
    probe = cache / f"calibration_seed{seed}_{fingerprint}.parquet"
    summary = write_synthetic(probe, CALIBRATION_PATHWAYS, seed=seed)
    probe.unlink()
    ratio = summary.rows / CALIBRATION_PATHWAYS
    note.write_text(json.dumps({"pathways": CALIBRATION_PATHWAYS, "rows_per_pathway": ratio}))
    return ratio


def extract_for(size_m: float, cache: Path, seed: int, fingerprint: str) -> tuple[Path, dict]:
    """The cached extract of about ``size_m`` million registrations, generated if missing."""
    stem = f"synth_{size_label(size_m)}_seed{seed}_{fingerprint}"
    path = cache / f"{stem}.parquet"
    note = cache / f"{stem}.json"
    if path.exists() and note.exists():
        info = json.loads(note.read_text())
        info["cached"] = True
        return path, info
    n_pathways = max(1, round(size_m * 1e6 / rows_per_pathway(cache, seed, fingerprint)))
    print(f"generating {path.name}: {n_pathways:,} pathways ...", flush=True)
    started = time.perf_counter()
    partial = path.with_suffix(".partial.parquet")
    summary = write_synthetic(partial, n_pathways, seed=seed)
    partial.replace(path)
    info = {
        "rows": summary.rows,
        "pathways": summary.pathways,
        "n_pathways_drawn": n_pathways,
        "seed": seed,
        "generator": fingerprint,
        "generate_s": round(time.perf_counter() - started, 1),
        "file_mb": round(path.stat().st_size / 2**20, 1),
    }
    note.write_text(json.dumps(info, indent=1))
    info["cached"] = False
    return path, info


# --- measuring --------------------------------------------------------------------------------


#: Runs the measured command as its own child and writes that child's wall time, CPU time and
#: maximum resident set size (JSON) to the file named first. Linux keeps a process's high-water
#: RSS across exec, and a process forked from run.py starts with run.py's resident set (polars,
#: pakkeforlop, the generator's buffers): ``wait4`` on it would report at least that, so a small
#: measurement showed run.py's size. The launcher is a bare interpreter (about 10 MB), and its
#: child starts from that.
LAUNCHER = """
import json, os, sys, time
started = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.execvp(sys.argv[2], sys.argv[2:])
    except OSError as error:
        print(f"Error: cannot run {sys.argv[2]}: {error}", file=sys.stderr, flush=True)
    os._exit(127)
_, status, usage = os.wait4(pid, 0)
wall = time.perf_counter() - started
with open(sys.argv[1], "w") as f:
    json.dump({"wall": wall, "cpu": usage.ru_utime + usage.ru_stime,
               "maxrss": usage.ru_maxrss}, f)
code = os.waitstatus_to_exitcode(status)
sys.exit(code if code >= 0 else 128 - code)
"""


def run_measured(
    cmd: list[str], timeout: float, log: Path, ok_codes: tuple[int, ...] = (0,)
) -> tuple[str, float, float | None, float | None, str]:
    """Run ``cmd`` in its own process group; return status, wall s, CPU s, peak MB, output tail.

    Peak memory is the command's maximum resident set size as reported by ``wait4`` in a small
    launcher (:data:`LAUNCHER`; the same figure ``/usr/bin/time -v`` prints), so it belongs to
    this measurement alone; CPU time is its user + system time, which a busy machine disturbs
    less than the wall time. Wall time is the launcher's, around the command alone (without the
    launcher's own start); without the launcher's report, run.py's figures stand in.
    """
    report = log.with_suffix(".usage.json")
    report.unlink(missing_ok=True)
    with log.open("w") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", LAUNCHER, str(report), *cmd],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            env=MEASURED_ENV,
            start_new_session=True,
        )
        deadline = started + timeout
        try:
            while True:
                pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
                if pid:
                    break
                if time.perf_counter() > deadline:
                    os.killpg(proc.pid, signal.SIGKILL)
                    _, status, usage = os.wait4(proc.pid, 0)
                    proc.returncode = -9
                    return "timed out", time.perf_counter() - started, None, None, ""
                time.sleep(0.02)
        except BaseException:  # Ctrl-C or a kill of run.py: take the measured process along
            os.killpg(proc.pid, signal.SIGKILL)
            os.wait4(proc.pid, 0)
            raise
        wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    scale = 1024 * 1024 if sys.platform == "darwin" else 1024
    maxrss, cpu = usage.ru_maxrss, usage.ru_utime + usage.ru_stime
    if report.exists():
        measured = json.loads(report.read_text())
        wall, cpu, maxrss = measured["wall"], measured["cpu"], measured["maxrss"]
    peak_mb = maxrss / scale
    tail = last_error(log.read_text(errors="replace"))
    if proc.returncode in ok_codes:
        return "ok", wall, cpu, peak_mb, tail
    return f"failed (exit {proc.returncode})", wall, cpu, peak_mb, tail


def last_error(output: str) -> str:
    """The line of a failed command's output that names the error (else its last line)."""
    lines = [line.strip() for line in output.strip().splitlines() if line.strip()]
    named = [line for line in lines if "Error" in line or line.lower().startswith("error")]
    return (named or lines or [""])[-1][:300]


def count_rows(path: Path) -> int | None:
    if not path.exists():
        return None
    if path.suffix == ".csv":
        return int(pl.scan_csv(path, infer_schema=False).select(pl.len()).collect().item())
    return int(pl.scan_parquet(path).select(pl.len()).collect().item())


def command_for(key: str, extract: Path, out_dir: Path) -> tuple[list[str], Path, tuple[int, ...]]:
    py = sys.executable
    if key == "a":
        out = out_dir / "a_indicators.parquet"
        return [*cli(), "indicators", str(extract), "-o", str(out)], out, (0,)
    if key == "b":
        out = out_dir / "b_findings.csv"
        return [*cli(), "validate", str(extract), "--report", str(out)], out, (0, 1)
    if key == "f":
        out = out_dir / "f_assessment.parquet"
        cmd = [*cli(), "indicators", str(extract), "-o", str(out)]
        cmd += ["--indicator", "assessment_in_time", "--by", "", "--no-suppress"]
        return cmd, out, (0,)
    kind = {
        "c": "lower-bound",
        "d": "pandas",
        "e": "duckdb",
        "g": "hash-floor",
        "h": "duckdb-pathways",
    }[key]
    out = out_dir / f"{key}_{kind}.parquet"
    return [py, str(BASELINES), kind, str(extract), str(out)], out, (0,)


def measure(key: str, extract: Path, out_dir: Path, timeout: float, repeat: int) -> Result:
    cmd, out, ok_codes = command_for(key, extract, out_dir)
    best: Result | None = None
    for _ in range(repeat):
        out.unlink(missing_ok=True)
        load = load_averages()[0]
        print(f"  {LABELS[key]} ...", end=" ", flush=True)
        status, wall, cpu, peak, tail = run_measured(cmd, timeout, out_dir / f"{key}.log", ok_codes)
        result = Result(
            key,
            status,
            wall_s=round(wall, 2),
            cpu_s=None if cpu is None else round(cpu, 2),
            peak_mb=None if peak is None else round(peak),
            load_1m=load,
            detail=tail,
        )
        if status == "ok":
            result.rows = count_rows(out)
            result.detail = ""
        print(status, f"{wall:.1f} s", f"{peak:.0f} MB" if peak else "", flush=True)
        if status != "ok":
            return result
        if best is None or (result.wall_s or 0) < (best.wall_s or 0):
            best = result
    assert best is not None
    return best


#: Measurements whose memory does not grow with the extract: pakkeforlop splits extracts over
#: 2.5 M registrations into patient partitions of about that size (pakkeforlop.partition). The
#: baselines, (g) and (h) included, hold the whole extract (or DuckDB's share of it): linear.
PARTITIONED: frozenset[str] = frozenset({"a", "b", "f"})

#: Allowance over the largest peak seen so far for a partitioned measurement (the partition
#: writing pass and the combined result grow a little with the extract).
PARTITIONED_GROWTH = 1.25


def expected_peak_mb(
    points: list[tuple[int, Result]], rows: int, *, partitioned: bool = False
) -> float | None:
    """Peak memory at ``rows``, from the measured smaller sizes.

    A partitioned measurement is bounded by one partition: the largest peak so far, with
    :data:`PARTITIONED_GROWTH` to spare. Otherwise the peak is extrapolated linearly: with two
    or more sizes through the last two (so the interpreter's fixed share does not scale); with
    one, proportionally to the rows (pessimistic).
    """
    measured = [(n, r.peak_mb) for n, r in points if r.status == "ok" and r.peak_mb]
    if not measured:
        return None
    if partitioned:
        return max(peak for _, peak in measured) * PARTITIONED_GROWTH
    if len(measured) == 1 or measured[-1][0] == measured[-2][0]:
        n, peak = measured[-1]
        return peak * rows / max(n, 1)
    (n1, p1), (n2, p2) = measured[-2], measured[-1]
    slope = max((p2 - p1) / (n2 - n1), 0.0)
    return p2 + slope * (rows - n2)


# --- agreement of (d), (e) and (f) ------------------------------------------------------------


def agreement(out_dir: Path) -> list[str]:
    frames = {}
    for key, name in (("d", "d_pandas"), ("e", "e_duckdb"), ("f", "f_assessment")):
        path = out_dir / f"{name}.parquet"
        if path.exists():
            frame = pl.read_parquet(path).select("period", "numerator", "denominator")
            frames[key] = frame.with_columns(pl.col("numerator", "denominator").cast(pl.Int64))
    lines: list[str] = []
    if "d" in frames and "e" in frames:
        same = frames["d"].sort("period").equals(frames["e"].sort("period"))
        total = frames["d"]["denominator"].sum()
        lines.append(
            f"- (d) pandas and (e) DuckDB: {'identical' if same else 'DIFFERENT'} counts per "
            f"tertial ({frames['d'].height} tertials, {total:,} pathways in the denominator)."
        )
    base_key = "e" if "e" in frames else "d" if "d" in frames else None
    if base_key and "f" in frames:
        both = frames["f"].join(frames[base_key], on="period", how="full", suffix="_ref")
        both = both.fill_null(0)
        num_f, den_f = both["numerator"].sum(), both["denominator"].sum()
        num_r, den_r = both["numerator_ref"].sum(), both["denominator_ref"].sum()
        worst = both.select(
            ((pl.col("denominator") - pl.col("denominator_ref")).abs() / pl.col("denominator_ref"))
            .max()
            .alias("x")
        ).item()
        share_f = num_f / den_f if den_f else float("nan")
        share_r = num_r / den_r if den_r else float("nan")
        lines.append(
            f"- (f) pakkeforlop vs ({base_key}): denominator {den_f:,} vs {den_r:,} "
            f"({(den_f - den_r) / den_r:+.2%}), numerator {num_f:,} vs {num_r:,}; share in time "
            f"{share_f:.2%} vs {share_r:.2%}; largest per-tertial denominator difference "
            f"{worst:.2%}. pakkeforlop reconstructs pathway instances (a second A of the same "
            "type at the same institution starts a new instance, X closes one, orphans and "
            "superseded starts are set apart), so it finds the repeated pathways the "
            "per-(patient, institution, type) baselines fold into one."
        )
    return lines


# --- agreement of (h) with (a) ----------------------------------------------------------------

#: The indicators (h) computes, as pakkeforlop names them.
PATHWAY_INDICATORS: tuple[str, ...] = (
    "assessment_in_time",
    "rejected_referrals",
    "plan_cocreated",
    "information_given",
    "evaluation_any",
)


def overall_counts(path: Path) -> pl.DataFrame:
    """The overall rows (every stratum column null) of pakkeforlop's indicator table.

    Returns ``indicator``, ``period``, ``numerator``, ``denominator`` for the indicators of (h);
    suppressed or not-available rows keep their null counts.
    """
    table = pl.read_parquet(path)
    strata = [c for c in table.columns if c not in OUTPUT_COLUMNS()]
    overall = pl.all_horizontal(pl.col(c).is_null() for c in strata) if strata else pl.lit(True)
    return table.filter(overall, pl.col("indicator_id").is_in(PATHWAY_INDICATORS)).select(
        pl.col("indicator_id").alias("indicator"),
        "period",
        pl.col("numerator", "denominator").cast(pl.Int64),
    )


def pathway_agreement(out_dir: Path) -> list[str]:
    """How far (h)'s counts per indicator and tertial agree with (a)'s overall rows."""
    a_path, h_path = out_dir / "a_indicators.parquet", out_dir / "h_duckdb-pathways.parquet"
    if not (a_path.exists() and h_path.exists()):
        return []
    ours = overall_counts(a_path)
    theirs = pl.read_parquet(h_path).with_columns(pl.col("numerator", "denominator").cast(pl.Int64))
    # a tertial only one side has counts as 0 there; a row (a) suppressed is not compared
    both = ours.join(theirs, on=["indicator", "period"], how="full", coalesce=True, suffix="_h")
    hidden = both.filter(pl.col("denominator").is_null() & pl.col("denominator_h").is_not_null())
    both = both.filter(~pl.col("denominator").is_null() | pl.col("denominator_h").is_null())
    both = both.with_columns(
        pl.col("numerator", "denominator").fill_null(0),
        pl.col("numerator_h", "denominator_h").fill_null(0),
    )
    differs = (pl.col("numerator") != pl.col("numerator_h")) | (
        pl.col("denominator") != pl.col("denominator_h")
    )
    per = (
        both.group_by("indicator")
        .agg(
            pl.len().alias("tertials"),
            differs.sum().alias("differ"),
            pl.col("numerator", "numerator_h", "denominator", "denominator_h").sum(),
            (pl.col("denominator") - pl.col("denominator_h")).abs().max().alias("worst"),
        )
        .sort(pl.col("indicator").replace_strict(PATHWAY_INDICATORS, range(5)))
    )
    total, off = int(per["tertials"].sum()), int(per["differ"].sum())
    lines = [
        "- (h) DuckDB pathway instances vs (a) pakkeforlop, overall rows: "
        + (
            f"identical counts in all {total} indicator × tertial rows."
            if off == 0
            else f"{off} of {total} indicator × tertial rows differ."
        )
        + (
            f" {hidden.height} row(s) suppressed in (a) not compared (no counts shown)."
            if hidden.height
            else ""
        ),
        "",
        "| indicator | tertials | differing | numerator (a) | numerator (h) | denominator (a) "
        "| denominator (h) | largest per-tertial denominator difference |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in per.iter_rows(named=True):
        den, den_h = row["denominator"], row["denominator_h"]
        rel = f" ({(den_h - den) / den:+.2%})" if den and den != den_h else ""
        lines.append(
            f"| {row['indicator']} | {row['tertials']} | {row['differ']} "
            f"| {row['numerator']:,} | {row['numerator_h']:,} | {den:,} | {den_h:,}{rel} "
            f"| {row['worst']:,} |"
        )
    lines += [
        "",
        "(h) reconstructs instances like (a) for extracts whose rows all carry their type (a "
        "running count of A per patient, institution and type; a row after an X and before the "
        "next A, or before any A, is an orphan), but skips typeless rows (split layout), given "
        "pathway ids, the catalogue's code validity, dates before 2019, duplicate collapsing and "
        "`--as-of`: differences come from those (see benchmarks/baselines.py).",
    ]
    return lines


# --- report -----------------------------------------------------------------------------------


def ratio(x: Result | None, y: Result | None) -> float | None:
    if x is None or y is None or x.status != "ok" or y.status != "ok":
        return None
    if not x.wall_s or not y.wall_s:
        return None
    return x.wall_s / y.wall_s


def fmt(value: float | None, spec: str = ".2f", suffix: str = "") -> str:
    return "–" if value is None else f"{value:{spec}}{suffix}"


def size_section(
    size_m: float,
    info: dict,
    results: dict[str, Result],
    agree: list[str],
    agree_h: list[str] | None = None,
) -> str:
    r = results
    lines = [
        f"## {size_label(size_m)}: {info['rows']:,} registrations",
        "",
        f"Extract: {info['pathways']:,} pathways, seed {info['seed']}, "
        f"{info['file_mb']} MB Parquet, generated in {info['generate_s']} s "
        f"(generator {info['generator']}).",
        "",
        "| measurement | status | wall s | CPU s | peak MB | rows out | load (1 min) "
        "| wall vs (c) |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for key in ALL:
        if key not in r:
            continue
        res = r[key]
        vs_c = ratio(res, r.get("c")) if key != "c" else None
        lines.append(
            f"| {LABELS[key]} | {res.status} | {fmt(res.wall_s)} | {fmt(res.cpu_s)} "
            f"| {fmt(res.peak_mb, ',.0f')} "
            f"| {fmt(res.rows, ',')} | {fmt(res.load_1m)} | {fmt(vs_c, '.1f', '×')} |"
        )
    lines += [
        "",
        "Ratios (wall time): "
        f"(a)/(c) = {fmt(ratio(r.get('a'), r.get('c')), '.1f')}, "
        f"(b)/(c) = {fmt(ratio(r.get('b'), r.get('c')), '.1f')}, "
        f"(d)/(a) = {fmt(ratio(r.get('d'), r.get('a')), '.2f')}, "
        f"(e)/(a) = {fmt(ratio(r.get('e'), r.get('a')), '.2f')}; like for like, one indicator: "
        f"(d)/(f) = {fmt(ratio(r.get('d'), r.get('f')), '.2f')}, "
        f"(e)/(f) = {fmt(ratio(r.get('e'), r.get('f')), '.2f')}; against the hash floor and "
        f"SQL pathways: (a)/(g) = {fmt(ratio(r.get('a'), r.get('g')), '.1f')}, "
        f"(b)/(g) = {fmt(ratio(r.get('b'), r.get('g')), '.1f')}, "
        f"(a)/(h) = {fmt(ratio(r.get('a'), r.get('h')), '.2f')}.",
    ]
    lower, duck = r.get("c"), r.get("e")
    if lower and duck and lower.ok and duck.ok and (duck.wall_s or 0) < (lower.wall_s or 0):
        lines += [
            "",
            "Note: DuckDB (e) computes the indicator faster than the polars lower bound (c) takes "
            "to sort by (patient, date): (e) hash-aggregates per pathway and never sorts, while "
            "(c) sorts two string keys. Here the target 'not slower than DuckDB' is the stricter "
            "one, and the lower bound is a bound on sort-based implementations only (the hash "
            "floor (g) groups without sorting, but reads every column).",
        ]
    failures = [res for res in r.values() if res.detail]
    if failures:
        lines += ["", *(f"- {LABELS[res.key]}: {res.detail}" for res in failures)]
    if agree:
        lines += ["", "Agreement of the assessment_in_time counts:", "", *agree]
    if agree_h:
        lines += [
            "",
            "Agreement of (h) with (a), five indicators overall per tertial:",
            "",
            *agree_h,
        ]
    return "\n".join(lines)


def extrapolate(all_results: dict[float, dict[str, Result]], key: str, size_m: float) -> str:
    """Wall time and peak memory at ``size_m``, linear through the two largest measured sizes."""
    points = [
        (s, r[key]) for s, r in sorted(all_results.items()) if key in r and r[key].ok and s < size_m
    ]
    if len(points) < 2:
        return ""
    (s1, r1), (s2, r2) = points[-2], points[-1]

    def line(y1: float, y2: float) -> float:
        return y2 + (y2 - y1) / (s2 - s1) * (size_m - s2)

    wall = line(r1.wall_s or 0, r2.wall_s or 0)
    peak = line(r1.peak_mb or 0, r2.peak_mb or 0)
    return (
        f"linear from {size_label(s1)} and {size_label(s2)}: about {wall:,.0f} s, "
        f"{peak / 1024:,.0f} GB (an extrapolation, not a measurement)"
    )


def verdict(ok: bool | None) -> str:
    return "not measured" if ok is None else "holds" if ok else "**missed**"


def targets_section(all_results: dict[float, dict[str, Result]]) -> str:
    limit = f"≤ {TARGET_WALL_S:.0f} s and ≤ {TARGET_PEAK_MB / 1024:.0f} GB"
    lines = [
        "## Targets (issue 16)",
        "",
        "| target | measured | verdict |",
        "|---|---|---|",
    ]
    big = all_results.get(float(TARGET_SIZE_M), {})
    for key in "ab":
        res = big.get(key)
        if res is None or res.status != "ok":
            what = "not run at 100 M" if res is None else res.status
            guess = extrapolate(all_results, key, TARGET_SIZE_M)
            if guess:
                what += f"; {guess}"
            lines.append(
                f"| {LABELS[key]} at 100 M: {limit} | {what} | "
                f"{verdict(None) if res is None else verdict(False)} |"
            )
        else:
            ok = (res.wall_s or 0) <= TARGET_WALL_S and (res.peak_mb or 0) <= TARGET_PEAK_MB
            lines.append(
                f"| {LABELS[key]} at 100 M: {limit} | "
                f"{res.wall_s:.1f} s, {res.peak_mb:,.0f} MB | {verdict(ok)} |"
            )
    for size_m, r in sorted(all_results.items()):
        label = size_label(size_m)
        checks = [
            (
                "(a)/(g) ≤ 2.5: indicators within 2.5× the hash floor",
                ratio(r.get("a"), r.get("g")),
                TARGET_VS_FLOOR,
                "le",
            ),
            (
                "(b)/(g) ≤ 3: validate within 3× the hash floor",
                ratio(r.get("b"), r.get("g")),
                TARGET_VALIDATE_VS_FLOOR,
                "le",
            ),
            (
                "(h)/(a) ≥ 2: 2× faster than the DuckDB pathway reconstruction",
                ratio(r.get("h"), r.get("a")),
                TARGET_VS_DUCKDB_PATHWAYS,
                "ge",
            ),
            (
                "(d)/(a) ≥ 10: 10× faster than pandas",
                ratio(r.get("d"), r.get("a")),
                TARGET_VS_PANDAS,
                "ge",
            ),
        ]
        for name, value, bound, how in checks:
            ok = None if value is None else (value <= bound if how == "le" else value >= bound)
            lines.append(f"| {label}: {name} | {fmt(value, '.2f', '×')} | {verdict(ok)} |")
    return "\n".join(lines)


def startup_costs(out_dir: Path) -> str:
    """Wall time of starting the processes alone, to read the small sizes by.

    First ``pakkeforlop warm-up``, as after installing: the measured version's timeline pass is
    compiled once into its cache, so that no measurement pays the compile (versions without
    the command say so and go on).
    """
    parts = []
    for name, cmd in (
        ("pakkeforlop warm-up (run once, before the measurements)", [*cli(), "warm-up"]),
        ("python + import polars", [sys.executable, "-c", "import polars"]),
        ("pakkeforlop --help", [*cli(), "--help"]),
    ):
        status, wall, _, _, _ = run_measured(cmd, 60, out_dir / "startup.log")
        parts.append(f"{name} {wall:.2f} s" if status == "ok" else f"{name} {status}")
    return ", ".join(parts)


def machine_section(
    load_start: tuple, load_end: tuple, started: dt.datetime, startup: str, git_start: str
) -> str:
    git_end = git_state() if MEASURED_ENV is None else git_start
    code = git_start
    if git_end != git_start:
        code += (
            f" at the start, **{git_end} at the end: pakkeforlop changed during the run, so "
            "its rows may come from different versions**"
        )
    mem = meminfo_mb("MemTotal")
    avail = meminfo_mb("MemAvailable")
    return "\n".join(
        [
            "## Machine",
            "",
            f"- CPU: {cpu_model()}, {os.cpu_count()} logical cores (nproc)",
            f"- Memory: {fmt(mem and mem / 1024, '.1f')} GiB total, "
            f"{fmt(avail and avail / 1024, '.1f')} GiB available at the end",
            f"- Load averages (1, 5, 15 min, as `uptime` shows them): "
            f"{', '.join(f'{x:.2f}' for x in load_start)} at the start, "
            f"{', '.join(f'{x:.2f}' for x in load_end)} at the end"
            + (
                " — **the machine was busy with other work; timings are noisy and pessimistic**"
                if max(load_start[0], load_end[0]) > 0.5 * (os.cpu_count() or 1)
                else ""
            ),
            f"- Python {platform.python_version()}, polars {version_of('polars')}, "
            f"pandas {version_of('pandas')}, duckdb {version_of('duckdb')}, "
            f"pyarrow {version_of('pyarrow')}, pakkeforlop {version_of('pakkeforlop')} "
            f"({code})",
            f"- Process start-up alone (included in every wall time): {startup}",
            f"- Run: {started:%Y-%m-%d %H:%M} (local time), `{' '.join(sys.argv)}`",
        ]
    )


def write_results(
    path: Path,
    sections: list[str],
    all_results: dict[float, dict[str, Result]],
    load_start: tuple,
    started: dt.datetime,
    startup: str,
    git_start: str,
    profile_text: str | None,
) -> None:
    covered = ", ".join(size_label(s) for s in all_results)
    parts = [
        "# Benchmark results",
        "",
        f"Written by `benchmarks/run.py` (see benchmarks/README.md). **Sizes covered: {covered} "
        "registrations.** One process per measurement; wall time includes interpreter start and "
        "imports; peak memory is the process's maximum resident set size.",
        "",
        machine_section(load_start, load_averages(), started, startup, git_start),
        "",
        "## What is measured",
        "",
        *(f"- {LABELS[k]}" for k in ALL),
        "",
        "(c) reads patient, institution, date and code, sorts by (patient, date) and takes one "
        "group-by per patient: the least work any timeline reconstruction must do. (d) and (e) "
        "compute one indicator per (patient, institution, type) without pathway instances; (a) "
        "computes all indicators with strata, suppression and provenance, (f) the one indicator "
        "like (d) and (e). (g) reads every column and groups every row once by hash, without "
        "sorting: the floor of reading the extract once and grouping each row once, against "
        "which (a) (which reads every column for its strata) is set. (h) reconstructs pathway "
        "instances in DuckDB SQL with window functions and computes five of (a)'s indicators "
        "(assessment_in_time, rejected_referrals, plan_cocreated, information_given, "
        "evaluation_any) on them, overall per tertial; (a) computes all of them, by type, with "
        "suppression. See benchmarks/baselines.py.",
        "",
        "\n\n".join(sections),
        "",
        targets_section(all_results),
    ]
    if profile_text:
        parts += ["", profile_text]
    path.write_text("\n".join(parts).rstrip() + "\n", encoding="utf-8")


def run_profile(extract: Path, out_dir: Path, timeout: float) -> str | None:
    log = out_dir / "profile.json"
    cmd = [sys.executable, str(HERE / "profile_indicators.py"), str(extract), "--collects"]
    cmd += ["--json", str(log)]
    status, wall, _, peak, tail = run_measured(cmd, timeout, out_dir / "profile.log")
    if status != "ok":
        return f"## Profile of (a)\n\nProfile run {status}: {tail}"
    profiled = json.loads(log.read_text())
    stages = profiled["stages"]
    lines = [
        "## Profile of (a): stages in-process",
        "",
        f"`python benchmarks/profile_indicators.py {extract.name}` ({wall:.1f} s in all, "
        f"peak {peak:,.0f} MB). The pathway table is collected between the stages.",
        "",
        "| stage | wall s | peak MB so far | rows |",
        "|---|---:|---:|---:|",
    ]
    lines += [
        f"| {s['stage']} | {s['wall_s']:.2f} | {s['peak_mb']:,} | {s['rows']:,} |" for s in stages
    ]
    lines += [
        "",
        "Slowest `LazyFrame.collect` / `pl.collect_all` call sites (under src/pakkeforlop), "
        "wall s:",
        "",
        "| call site | wall s | calls |",
        "|---|---:|---:|",
    ]
    lines += [f"| `{c['site']}` | {c['wall_s']:.2f} | {c['calls']} |" for c in profiled["collects"]]
    return "\n".join(lines)


# --- main -------------------------------------------------------------------------------------


def parse_sizes(text: str) -> list[float]:
    try:
        sizes = sorted({float(x) for x in text.split(",") if x.strip()})
    except ValueError:
        msg = f"--sizes: expected numbers like 1,10,30,100, got {text!r}"
        raise SystemExit(msg) from None
    if not sizes or min(sizes) <= 0:
        msg = f"--sizes: expected positive numbers, got {text!r}"
        raise SystemExit(msg)
    return sizes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", default="1,10,30,100", help="millions of registrations (default 1,10,30,100)"
    )
    parser.add_argument("--only", default=",".join(ALL), help="measurements, e.g. a,c,e")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per measurement")
    parser.add_argument("--cache", type=Path, default=HERE / "data", help="extract cache folder")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=1, help="runs per measurement; best kept")
    parser.add_argument(
        "--max-pandas",
        type=float,
        default=None,
        help="largest size (millions) to run pandas at (default: as far as memory allows)",
    )
    parser.add_argument(
        "--memory-headroom",
        type=float,
        default=0.85,
        help="skip a measurement whose peak, extrapolated from the smaller sizes, exceeds this "
        "share of the memory available when it would start (default 0.85)",
    )
    parser.add_argument(
        "--code",
        default="HEAD",
        help="pakkeforlop version to measure: a git revision (default HEAD: a snapshot of the "
        "committed src/ and cli/, unaffected by edits during the run) or 'worktree'",
    )
    parser.add_argument("--profile", action="store_true", help="profile (a) at the largest size")
    parser.add_argument("--results", type=Path, default=HERE / "RESULTS.md")
    args = parser.parse_args(argv)

    sizes = parse_sizes(args.sizes)
    keys = [k for k in ALL if k in {x.strip() for x in args.only.split(",")}]
    if not keys:
        msg = f"--only: expected some of {','.join(ALL)}, got {args.only!r}"
        raise SystemExit(msg)
    args.cache.mkdir(parents=True, exist_ok=True)
    started = dt.datetime.now()
    load_start = load_averages()
    fingerprint = synth_fingerprint()
    (args.cache / "out").mkdir(exist_ok=True)
    if args.code == "worktree":
        git_start = f"working tree at git {git_state()}"
    else:
        git_start = f"git {use_snapshot(args.code, args.cache)} (snapshot of {args.code})"
    startup = startup_costs(args.cache / "out")

    all_results: dict[float, dict[str, Result]] = {}
    sections: list[str] = []
    history: dict[str, list[tuple[int, Result]]] = {}  # key -> (rows, result) per size so far
    for size_m in sizes:
        extract, info = extract_for(size_m, args.cache, args.seed, fingerprint)
        print(f"{extract.name}: {info['rows']:,} rows", flush=True)
        out_dir = args.cache / "out" / size_label(size_m)
        shutil.rmtree(out_dir, ignore_errors=True)  # no stale outputs in the agreement check
        out_dir.mkdir(parents=True)
        results: dict[str, Result] = {}
        for key in keys:
            skip = None
            if key == "d" and args.max_pandas is not None and size_m > args.max_pandas:
                skip = f"skipped (--max-pandas {args.max_pandas:g})"
            elif history.get(key):
                rows_before, before = history[key][-1]
                expected = expected_peak_mb(
                    history[key], info["rows"], partitioned=key in PARTITIONED
                )
                available = meminfo_mb("MemAvailable") or float("inf")
                if before.status == "timed out":
                    skip = f"skipped (timed out at {rows_before / 1e6:.3g} M rows)"
                elif before.status.startswith("skipped"):
                    skip = before.status
                elif expected is not None and expected > args.memory_headroom * available:
                    skip = (
                        f"skipped ({expected / 1024:.0f} GB expected, "
                        f"{available / 1024:.0f} GB available)"
                    )
            if skip:
                print(f"  {LABELS[key]} ... {skip}", flush=True)
                results[key] = Result(key, skip)
            else:
                results[key] = measure(key, extract, out_dir, args.timeout, args.repeat)
            history.setdefault(key, []).append((info["rows"], results[key]))
        all_results[size_m] = results
        sections.append(
            size_section(size_m, info, results, agreement(out_dir), pathway_agreement(out_dir))
        )
        # write after every size, so a long run leaves a result behind when stopped
        write_results(
            args.results, sections, all_results, load_start, started, startup, git_start, None
        )
    profile_text = None
    # profile in one piece (the in-process stages hold the whole extract, as (a) does below the
    # partitioning threshold): at the largest size where (a) ran that is not partitioned
    profiled = [
        size_m
        for size_m, r in all_results.items()
        if r.get("a", Result("a", "")).ok and size_m * 1e6 <= MAX_ROWS_IN_ONE_PIECE
    ]
    if args.profile and profiled:
        extract, _ = extract_for(max(profiled), args.cache, args.seed, fingerprint)
        print(f"profiling (a) at {size_label(max(profiled))} ...", flush=True)
        profile_text = run_profile(extract, args.cache / "out", args.timeout)
    elif args.profile:
        profile_text = "## Profile of (a)\n\nNot run: (a) did not complete at any size."
    write_results(
        args.results, sections, all_results, load_start, started, startup, git_start, profile_text
    )
    print(f"wrote {args.results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
