"""Bad inputs and faults: one clear line and a documented exit code, no traceback, no lost file.

CI pipelines read exit codes: 1 means "the data has findings", 2 "the file could not be read or
the arguments are wrong" (README, ``pakkeforlop --help``). Each case below asserts the exit code,
the message's key words, that no traceback is printed, and that no partial output is left.
"""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from pakkeforlop_cli.main import app

ROOT = Path(__file__).parent.parent
SAMPLE = ROOT / "sample_data" / "extract.parquet"
runner = CliRunner()

HEADER = "NPRId;institusjonId;dato;kode"
GOOD_ROWS = ["p1;u1;02.01.2023;D11A", "p1;u1;09.01.2023;D11M", "p1;u1;30.01.2023;D11CP"]


def _csv(path: Path, *rows: str, header: str = HEADER) -> Path:
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def _run(*args: str | Path) -> tuple[int, str]:
    result = runner.invoke(app, [str(a) for a in args])
    output = result.output
    assert "Traceback" not in output, output
    assert result.exception is None or isinstance(result.exception, SystemExit), output
    return result.exit_code, output


def _one_line_error(output: str) -> str:
    errors = [line for line in output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, output
    return errors[0]


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".partial"))


# --- unreadable or unsupported input --------------------------------------------------------------


@pytest.fixture(scope="module")
def broken(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("broken")
    whole = SAMPLE.read_bytes()
    files = {
        "garbage": folder / "garbage.parquet",
        "truncated": folder / "truncated.parquet",
        "empty": folder / "empty.parquet",
    }
    files["garbage"].write_bytes(os.urandom(4096))
    files["truncated"].write_bytes(whole[: len(whole) // 2])
    files["empty"].write_bytes(b"")
    mixed = folder / "mixed"
    mixed.mkdir()
    (mixed / "a.parquet").write_bytes(whole)
    (mixed / "b.parquet").write_bytes(whole[: len(whole) // 3])
    files["mixed"] = mixed
    return files


COMMANDS: list[list[str]] = [
    ["indicators"],
    ["validate"],
    ["timeline", "-o", "{out}/t.parquet"],
    ["report", "-o", "{out}/r.html"],
    ["indicators", "--partitions", "2"],
    ["validate", "--partitions", "2"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c[:2]))
@pytest.mark.parametrize("case", ["garbage", "truncated", "empty", "mixed"])
def test_a_broken_parquet_is_exit_2_naming_the_file(
    broken: dict[str, Path], tmp_path: Path, case: str, command: list[str]
) -> None:
    args = [command[0], str(broken[case]), *(a.format(out=tmp_path) for a in command[1:])]
    code, output = _run(*args)
    assert code == 2, output
    line = _one_line_error(output)
    named = "b.parquet" if case == "mixed" else f"{case}.parquet"
    assert named in line and "cannot be read as Parquet" in line, line
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_a_missing_or_unsupported_file_is_exit_2(tmp_path: Path) -> None:
    code, output = _run("indicators", tmp_path / "nope.parquet")
    assert code == 2 and "file not found" in _one_line_error(output)
    odd = tmp_path / "x.xls"
    odd.write_bytes(b"not really")
    code, output = _run("validate", odd)
    assert code == 2 and "unsupported file type '.xls'" in _one_line_error(output)


def test_an_unreadable_file_is_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Tests run as root here, where permissions do not stop a read: the refusal is simulated
    path = _csv(tmp_path / "locked.csv", *GOOD_ROWS)
    real_open = Path.open

    def refuse(self: Path, *args: object, **kwargs: object) -> object:
        if self.name == "locked.csv":
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "open", refuse)
    code, output = _run("validate", path)
    assert code == 2 and "locked.csv" in _one_line_error(output)
    assert "permission denied" in output.lower()


# --- CSV robustness -------------------------------------------------------------------------


def test_trailing_blank_lines_are_ignored(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("\n".join([HEADER, *GOOD_ROWS]) + "\n\n\n", encoding="utf-8")
    code, output = _run("validate", path)
    assert code == 0, output
    assert "blank_line 2" in output  # counted in the run summary


def test_short_and_long_lines_are_findings_naming_the_line(tmp_path: Path) -> None:
    path = _csv(tmp_path / "x.csv", *GOOD_ROWS, "p1;u1", "p1;u1;31.01.2023;D11UU;extra")
    code, output = _run("validate", path, "--format", "csv")
    assert code == 1, output
    summary = pl.read_csv(output.encode(), infer_schema=False)
    row = summary.filter(pl.col("rule_id") == "wrong_field_count").row(0, named=True)
    assert row["count"] == "2"
    assert row["examples"] == f"{path}:5; {path}:6"  # line 5 has 2 fields, line 6 has 5


def test_a_stray_quote_names_line_and_column_and_hides_the_data(tmp_path: Path) -> None:
    path = _csv(
        tmp_path / "x.csv", *GOOD_ROWS, 'SECRET7;"u1;02.02.2023;D11E', "p2;u1;03.02.2023;D11A"
    )
    code, output = _run("validate", path)
    assert code == 2
    line = _one_line_error(output)
    assert "line 5, column 'institusjonId'" in line and "SECRET7" not in output


def test_a_huge_header_is_not_echoed(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("x" * 2_000_000 + "\n1\n", encoding="utf-8")
    code, output = _run("validate", path)
    assert code == 2 and len(output) < 2000, len(output)


def test_utf16_input_is_read(tmp_path: Path) -> None:
    path = tmp_path / "u.csv"
    path.write_bytes(("\r\n".join([HEADER, *GOOD_ROWS]) + "\r\n").encode("utf-16"))
    code, output = _run("validate", path)
    assert code == 0 and "3 rows read = 3 usable" in output, output


# --- empty input and arguments that select nothing ----------------------------------------------


def test_an_extract_without_usable_rows(tmp_path: Path) -> None:
    path = _csv(tmp_path / "x.csv", "p1;u1;31.02.2023;D11A", "p1;u1;09.01.2023;D99M")
    code, output = _run("validate", path)
    assert code == 1 and "no_usable_registrations" in output
    for command in (["indicators"], ["report", "-o", str(tmp_path / "r.html")]):
        code, output = _run(command[0], path, *command[1:])
        assert code == 2, output
        line = _one_line_error(output)
        assert "nothing to compute: 2 rows read, all excluded: bad_date 1, invalid_code 1" in line
    assert not (tmp_path / "r.html").exists()


def test_by_a_column_the_extract_lacks_names_the_columns_it_has(tmp_path: Path) -> None:
    path = _csv(tmp_path / "x.csv", *GOOD_ROWS)
    code, output = _run("indicators", path, "--by", "health_region")
    assert code == 2
    line = _one_line_error(output)
    assert "no health_region column" in line and "NPRId, dato, institusjonId, kode" in line


def test_from_to_that_select_nothing_say_so(tmp_path: Path) -> None:
    path = _csv(tmp_path / "x.csv", *GOOD_ROWS)
    code, output = _run("indicators", path, "--from", "2030-T1", "--format", "csv")
    assert code == 0 and "no unit of the chosen indicators is anchored from 2030-T1" in output


# --- outputs that cannot be written ------------------------------------------------------------

OUTPUTS: list[list[str]] = [
    ["indicators", "{src}", "-o", "{dst}.csv"],
    ["indicators", "{src}", "-o", "{dst}.xlsx"],
    ["indicators", "--list", "-o", "{dst}.csv"],
    ["timeline", "{src}", "-o", "{dst}.parquet"],
    ["validate", "{src}", "--report", "{dst}.csv"],
    ["report", "{src}", "-o", "{dst}.html"],
    ["synth", "--pathways", "20", "-o", "{dst}.parquet"],
]


@pytest.mark.parametrize("command", OUTPUTS, ids=lambda c: f"{c[0]} {c[-1][-5:]}")
@pytest.mark.parametrize("place", ["missing folder", "read-only"])
def test_an_unwritable_output_is_exit_2(tmp_path: Path, command: list[str], place: str) -> None:
    src = _csv(tmp_path / "in.csv", *GOOD_ROWS)
    dst = tmp_path / "no" / "such" / "out" if place == "missing folder" else Path("/proc/pkf-out")
    args = [a.format(src=src, dst=dst) for a in command]
    code, output = _run(*args)
    assert code == 2, output
    line = _one_line_error(output)
    assert "cannot write" in line and str(dst) in line, line


def _failing_writer(exc: BaseException) -> Callable[..., None]:
    def write_csv(self: pl.DataFrame, file: object = None, **kwargs: object) -> None:
        Path(str(file)).write_text("half a fi", encoding="utf-8")  # then the fault
        raise exc

    return write_csv


@pytest.mark.parametrize(
    ("fault", "code", "words"),
    [
        (OSError(errno.ENOSPC, "No space left on device"), 2, "the disk is full"),
        (KeyboardInterrupt(), 130, "interrupted"),
    ],
    ids=["disk full", "interrupted"],
)
def test_a_failed_write_leaves_the_previous_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fault: BaseException, code: int, words: str
) -> None:
    src = _csv(tmp_path / "in.csv", *GOOD_ROWS)
    out = tmp_path / "pathways.csv"
    out.write_text("the previous good file\n", encoding="utf-8")
    monkeypatch.setattr(pl.DataFrame, "write_csv", _failing_writer(fault))
    got, output = _run("timeline", src, "-o", out)
    assert got == code and words in output, output
    assert out.read_text(encoding="utf-8") == "the previous good file\n"
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_outputs_get_the_permissions_of_a_plain_write(tmp_path: Path, umask: int) -> None:
    # the atomic write goes through a private temporary file (mode 0600): the output must not
    # keep that mode, but get what writing it directly would give (0666 less the umask), or
    # keep the mode of the file it replaces
    src = _csv(tmp_path / "in.csv", *GOOD_ROWS)
    new, replaced = tmp_path / "new.csv", tmp_path / "replaced.csv"
    replaced.write_text("old\n", encoding="utf-8")
    replaced.chmod(0o640)
    before = os.umask(umask)
    try:
        assert _run("timeline", src, "-o", new)[0] == 0
        assert _run("timeline", src, "-o", replaced)[0] == 0
    finally:
        os.umask(before)
    assert new.stat().st_mode & 0o777 == 0o666 & ~umask
    assert replaced.stat().st_mode & 0o777 == 0o640
    assert replaced.read_text(encoding="utf-8") != "old\n"


# --- real processes: a closed pipe, Ctrl-C and SIGTERM --------------------------------------------

CLI = [sys.executable, "-c", "from pakkeforlop_cli.entry import run; run()"]


def test_a_closed_pipe_exits_0_quietly() -> None:
    shell = f"{' '.join(CLI[:2])} '{CLI[2]}' indicators {SAMPLE} --format csv | head -n 1"
    done = subprocess.run(
        ["bash", "-o", "pipefail", "-c", shell],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.stdout.startswith("indicator_id,"), done.stdout
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and "Broken pipe" not in done.stderr


def test_the_console_script_keeps_its_exit_codes(tmp_path: Path) -> None:
    # the script leaves with os._exit after flushing: the codes and the messages must survive
    missing = tmp_path / "nowhere.parquet"
    done = subprocess.run(
        [*CLI, "indicators", str(missing)], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 2 and str(missing) in done.stderr, done.stderr
    out = tmp_path / "ok.csv"
    done = subprocess.run(
        [*CLI, "indicators", str(SAMPLE), "-o", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert out.read_text(encoding="utf-8").startswith("indicator_id,")
    version = subprocess.run([*CLI, "--version"], capture_output=True, timeout=60, check=False)
    assert version.returncode == 0 and version.stdout.startswith(b"pakkeforlop ")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_leaves_no_partial_file(tmp_path: Path, sig: signal.Signals) -> None:
    out = tmp_path / "big.csv"
    out.write_text("previous\n", encoding="utf-8")
    # a synthetic extract large enough to take several seconds, interrupted after one
    process = subprocess.Popen(
        [*CLI, "synth", "--pathways", "3000000", "--seed", "1", "-o", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(2.0)
    assert process.poll() is None, "finished before the signal: make the extract larger"
    process.send_signal(sig)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "interrupted" in stderr and "Traceback" not in stderr
    assert out.read_text(encoding="utf-8") == "previous\n"
    assert _leftovers(tmp_path) == []


# --- fuzzing: damaged files never crash -----------------------------------------------------------


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    folder = tmp_path_factory.mktemp("pristine")
    sample = pl.read_parquet(SAMPLE).head(120)
    sample.write_parquet(folder / "x.parquet")
    register = sample.select(
        pl.col("patient_id").alias("NPRId"),
        pl.col("institution_id").alias("institusjonId"),
        pl.col("event_date").alias("dato"),
        pl.col("code").alias("kode"),
    )
    register.write_csv(folder / "x.csv", separator=";")
    return {s: (folder / f"x.{s}").read_bytes() for s in ("parquet", "csv")}


_damage = st.lists(
    st.tuples(
        st.sampled_from(["flip", "truncate", "insert", "delete"]),
        st.floats(0, 1),
        st.binary(min_size=1, max_size=8),
    ),
    min_size=1,
    max_size=3,
)


def _damaged(data: bytes, steps: list[tuple[str, float, bytes]]) -> bytes:
    out = bytearray(data)
    for kind, where, noise in steps:
        at = int(where * max(len(out) - 1, 0))
        if kind == "flip" and out:
            out[at] ^= noise[0] or 0xFF
        elif kind == "truncate":
            del out[at:]
        elif kind == "insert":
            out[at:at] = noise
        elif out:
            del out[at : at + len(noise)]
    return bytes(out)


@settings(
    max_examples=int(os.environ.get("PAKKEFORLOP_FUZZ_EXAMPLES", "25")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(suffix=st.sampled_from(["csv", "parquet"]), steps=_damage)
def test_damaged_files_give_0_1_or_2_and_never_a_traceback(
    tmp_path: Path, pristine: dict[str, bytes], suffix: str, steps: list[tuple[str, float, bytes]]
) -> None:
    path = tmp_path / f"damaged.{suffix}"
    path.write_bytes(_damaged(pristine[suffix], steps))
    for command, *extra in (["validate"], ["indicators"], ["validate", "--partitions", "2"]):
        result = runner.invoke(app, [command, str(path), "--format", "csv", *extra])
        assert result.exit_code in (0, 1, 2), (command, steps, result.output)
        assert "Traceback" not in result.output and "internal error" not in result.output, (
            command,
            steps,
            result.output,
        )
        if command == "indicators":
            assert result.exit_code != 1, result.output  # 1 is validate's "findings" only
