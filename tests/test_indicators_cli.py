"""``pakkeforlop indicators`` through typer's runner."""

from __future__ import annotations

import json
import re
from pathlib import Path

import polars as pl
from typer.testing import CliRunner

from pakkeforlop.indicators import OUTPUT_COLUMNS, indicator_catalogue
from pakkeforlop_cli.main import app

runner = CliRunner()
EXTENSION = Path(__file__).parent.parent / "sample_data" / "catalogue_extension.toml"

# Register-style CSV. a: D11 M 9 Jan -> C-P 1 Feb (23 days, in time), plan U-U, E, closed 1 May.
# b: D01 M 8 Jan -> C-T 12 Jan (inpatient), detox end 20 Jan, E 21 Jan (derived treatment start,
# inpatient: 1 day > 0, late). c: D12 started 5 Feb, rejected (X-R) 25 Mar. d: D11 in region Nord,
# M 10 May -> C-P 30 May, local somatic code U-Z, closed 15 Jun.
CSV = """NPRId;institusjonId;dato;kode;BehRHF;omsorgsniva
a;974;02.01.2023;D11A;Vest;3
a;974;09.01.2023;D11M;Vest;3
a;974;01.02.2023;D11CP;Vest;3
a;974;05.02.2023;D11UU;Vest;3
a;974;01.03.2023;D11E;Vest;3
a;974;01.05.2023;D11XG;Vest;3
b;975;05.01.2023;D01A;Nord;1
b;975;08.01.2023;D01M;Nord;1
b;975;12.01.2023;D01CT;Nord;1
b;975;20.01.2023;D01D;Nord;1
b;975;21.01.2023;D01E;Nord;1
c;974;05.02.2023;D12A;Vest;3
c;974;25.03.2023;D12XR;Vest;3
d;975;02.05.2023;D11A;Nord;3
d;975;10.05.2023;D11M;Nord;3
d;975;30.05.2023;D11CP;Nord;3
d;975;01.06.2023;D11UZ;Nord;3
d;975;15.06.2023;D11XG;Nord;3
"""


def _extract(tmp_path: Path) -> Path:
    path = tmp_path / "extract.csv"
    path.write_text(CSV, encoding="utf-8")
    return path


def test_default_run_prints_titles(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["indicators", str(_extract(tmp_path)), "--detail"], env={"COLUMNS": "160"}
    )
    assert result.exit_code == 0, result.output
    assert "Assessment completed within the recommended time" in result.output
    assert "pathway_type" in result.output  # stratified by pathway type by default
    assert "2023-T1" in result.output  # by tertial by default
    assert "suppressed" in result.output  # a handful of pathways: small cells hidden
    assert "provisional times used: D11 (assessment, first_evaluation)" in result.output


def test_csv_output_with_metadata_sidecar(tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    result = runner.invoke(
        app,
        [
            "indicators",
            str(_extract(tmp_path)),
            "-o",
            str(out),
            "--no-suppress",
            "--by",
            "health_region",
            "--period",
            "year",
        ],
    )
    assert result.exit_code == 0, result.output
    table = pl.read_csv(out, schema_overrides={"period": pl.String})
    assert table.columns == OUTPUT_COLUMNS(["health_region"])
    assert set(table["period"]) == {"2023"}
    rejected = table.filter(pl.col("indicator_id") == "rejected_referrals")
    # overall: c of a, b, c, d; Vest: c of a, c; Nord: none of b, d
    assert rejected.select("health_region", "numerator", "denominator").rows() == [
        (None, 1, 4),
        ("Nord", 0, 2),
        ("Vest", 1, 2),
    ]
    detox = table.filter(pl.col("indicator_id") == "detox_to_treatment_in_time")
    assert detox.filter(pl.col("health_region").is_null())["numerator"].to_list() == [0]
    meta = json.loads((tmp_path / "out.csv.metadata.json").read_text(encoding="utf-8"))
    assert meta["input_rows"] == 18
    assert meta["pathway_count"] == 4
    assert meta["reference_date"] == "2023-06-15"
    assert meta["suppression"] is None


def test_parquet_output_carries_metadata(tmp_path: Path) -> None:
    out = tmp_path / "out.parquet"
    result = runner.invoke(app, ["indicators", str(_extract(tmp_path)), "-o", str(out)])
    assert result.exit_code == 0, result.output
    table = pl.read_parquet(out)
    assert table.columns == OUTPUT_COLUMNS(["pathway_type"])
    meta = json.loads(pl.read_parquet_metadata(out)["pakkeforlop"])
    assert meta["suppression"] == "nki"
    assert meta["times_file"] == "builtin:pathway_times_2019.toml"


def test_json_to_stdout_and_indicator_selection(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "indicators",
            str(_extract(tmp_path)),
            "--format",
            "json",
            "--no-suppress",
            "--indicator",
            "plan_cocreated",
            "--indicator",
            "rejected_referrals,assessment_days",
            "--by",
            "",
        ],
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert {r["indicator_id"] for r in rows} == {
        "plan_cocreated",
        "rejected_referrals",
        "assessment_days",
    }
    plan = [r for r in rows if r["indicator_id"] == "plan_cocreated"]
    # a closed 1 May (T2) with U-U; d closed 15 Jun (T2) without: 1 of 2
    assert [(r["period"], r["numerator"], r["denominator"]) for r in plan] == [("2023-T2", 1, 2)]


def test_from_to_and_months(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "indicators",
            str(_extract(tmp_path)),
            "--format",
            "csv",
            "--no-suppress",
            "--period",
            "month",
            "--from",
            "2023-03",
            "--to",
            "2023-03-31",
            "--indicator",
            "rejected_referrals",
            "--by",
            "none",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "2023-02" not in result.stdout  # c started in February: outside
    assert "rejected_referrals" not in result.stdout


def test_somatic_followup_through_an_extension(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "indicators",
            str(_extract(tmp_path)),
            "--format",
            "csv",
            "--no-suppress",
            "--by",
            "",
            "--indicator",
            "somatic_followup",
            "--extension",
            str(EXTENSION),
        ],
    )
    assert result.exit_code == 0, result.output
    table = pl.read_csv(result.stdout.encode())
    # U-Z has no valid_from: it starts with June 2023, the first month the extract holds it
    # (domain/indicators.md §3). a (closed 1 May) is before that start; d (U-Z) counts: 1 of 1
    assert table.select("numerator", "denominator").rows() == [(1, 1)]
    without = runner.invoke(
        app, ["indicators", str(_extract(tmp_path)), "--indicator", "somatic_followup"]
    )
    assert without.exit_code == 2
    assert "not computable from national codes" in without.output


def test_list_prints_every_definition() -> None:
    result = runner.invoke(app, ["indicators", "--list"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for d in indicator_catalogue().indicators:
        assert d.id in result.output
    assert "not computable from national" in result.output  # somatic_followup, wrapped


def test_list_to_a_file(tmp_path: Path) -> None:
    out = tmp_path / "defs.csv"
    result = runner.invoke(app, ["indicators", "--list", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert pl.read_csv(out).height == len(indicator_catalogue().indicators)


def test_user_mistakes_exit_2_with_one_line(tmp_path: Path) -> None:
    extract = str(_extract(tmp_path))
    bad_times = tmp_path / "times.toml"
    bad_times.write_text(
        'version = "x"\n[[time]]\npathway_type = "D11"\ninterval = "assessment"\n'
        'outpatient = "soon"\ninpatient = 1\nstatus = "official"\n',
        encoding="utf-8",
    )
    cases = [
        (["--by", "region"], "unknown stratum 'region'"),
        (["--indicator", "plan_cocreatd"], "did you mean 'plan_cocreated'"),
        (["--from", "next week"], "not a date or period"),
        (["--times", str(bad_times)], f"{bad_times}: time entry 1: outpatient"),
        (["--format", "xlsx"], "--format xlsx needs -o FILE"),
    ]
    for args, message in cases:
        result = runner.invoke(app, ["indicators", extract, *args])
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output, (args, result.output)
        assert "Traceback" not in result.output
    missing = runner.invoke(app, ["indicators", str(tmp_path / "nope.parquet")])
    assert missing.exit_code == 2
    assert "Traceback" not in missing.output
    nothing = runner.invoke(app, ["indicators"])
    assert nothing.exit_code == 2
    assert "missing EXTRACT" in nothing.output


def test_unknown_period_is_rejected(tmp_path: Path) -> None:
    result = runner.invoke(app, ["indicators", str(_extract(tmp_path)), "--period", "week"])
    assert result.exit_code == 2


def test_shipped_sample_shows_the_latest_periods_in_the_terminal() -> None:
    sample = Path(__file__).parent.parent / "sample_data" / "extract.parquet"
    result = runner.invoke(app, ["indicators", str(sample), "--detail"], env={"COLUMNS": "160"})
    assert result.exit_code == 0, result.output
    assert "showing the latest 3 of" in result.output
    assert "2024-T3" in result.output
    assert "2019-T1" not in result.output
    chosen = runner.invoke(
        app,
        ["indicators", str(sample), "--from", "2019", "--to", "2019", "--by", ""],
        env={"COLUMNS": "160"},
    )
    assert chosen.exit_code == 0, chosen.output
    assert "2019-T1" in chosen.output
    assert "showing the latest" not in chosen.output


# --- the one-screen summary ----------------------------------------------------------------------

SAMPLE = Path(__file__).parent.parent / "sample_data" / "extract.parquet"


def test_the_default_output_on_the_sample_fits_one_screen() -> None:
    result = runner.invoke(app, ["indicators", str(SAMPLE)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) <= 60, len(lines)
    out = result.stdout
    assert out.splitlines()[0] == "Indicators for 2024-T3 (overall; change from 2024-T2)"
    # grouped by goal area, one line per indicator with value, interval, n, target, met, change
    assert "No unjustified waiting" in out
    row = next(x for x in out.splitlines() if x.startswith("assessment_in_time "))
    assert re.search(r"\d+\.\d% +\d+\.\d–\d+\.\d% +\d+ +80% +(yes|no) +[▲▼=] [+−]", row), row
    assert any(x.startswith("pathways_started ") for x in out.splitlines())
    # the figures are those of the table's overall rows of 2024-T3
    table = pl.read_csv(
        runner.invoke(
            app, ["indicators", str(SAMPLE), "--format", "csv", "--by", ""]
        ).stdout.encode()
    ).filter((pl.col("indicator_id") == "assessment_in_time") & (pl.col("period") == "2024-T3"))
    n, value = table.select("denominator", "value").row(0)
    assert f"{100 * value:.1f}%" in row
    assert f" {n} " in row


def test_the_summary_marks_improvements_and_never_shows_zero_for_hidden_cells() -> None:
    out = runner.invoke(app, ["indicators", str(SAMPLE)]).stdout
    for line in out.splitlines():
        if "▲" in line or "▼" in line:
            ind = line.split()[0] if not line.startswith(" ") else None
            if ind in ("rejected_referrals", "pathways_started", "pathways_ended"):
                assert "better" not in line and "worse" not in line  # no better direction
    suppressed = [x for x in out.splitlines() if "suppressed" in x]
    assert suppressed
    assert all("0.0%" not in x for x in suppressed)


def test_the_summary_in_norwegian_uses_norwegian_number_formats() -> None:
    out = runner.invoke(app, ["indicators", str(SAMPLE), "--lang", "nb"]).stdout
    assert out.splitlines()[0].startswith("Indikatorer for 2024-T3")
    row = next(x for x in out.splitlines() if x.startswith("assessment_in_time "))
    assert re.search(r"\d+,\d\s%", row), row
    assert "nei" in row or "ja" in row
    assert "Unngå unødig ventetid" in out


def test_a_narrow_terminal_never_cuts_a_number() -> None:
    from pakkeforlop.pipeline import run_indicators
    from pakkeforlop_cli.summary import plain, summary_lines

    table = run_indicators(SAMPLE)
    wide = plain(summary_lines(table, width=10_000)).splitlines()
    narrow = plain(summary_lines(table, width=60)).splitlines()
    # the same figures, in the same order: long ids move to a line of their own
    figures = [re.findall(r"[\d.,–%]+", x) for x in wide]
    narrow_figures = [re.findall(r"[\d.,–%]+", x) for x in narrow]
    assert [f for f in figures if f] == [f for f in narrow_figures if f]
    assert len(narrow) > len(wide)


def test_detail_tables_in_a_pipe_are_never_cut() -> None:
    result = runner.invoke(
        app, ["indicators", str(SAMPLE), "--by", "health_region,pathway_type"], env={"COLUMNS": ""}
    )
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "…" not in out
    assert [x for x in out.splitlines() if x.startswith("│ 2024-T3")]
    # every cell on one line: no row spills onto a second line with an empty period
    assert not [x for x in out.splitlines() if x.startswith("│         │")]


def test_detail_shows_activity_counts_as_counts() -> None:
    from pakkeforlop import IndicatorSettings
    from pakkeforlop.pipeline import run_indicators

    result = runner.invoke(
        app,
        ["indicators", str(SAMPLE), "--indicator", "pathways_open", "--by", "", "--detail"],
        env={"COLUMNS": "160"},
    )
    assert result.exit_code == 0, result.output
    rows = [x for x in result.stdout.splitlines() if x.startswith("│ 2024-T3")]
    assert rows and "%" not in rows[0]
    table = run_indicators(SAMPLE, indicators=IndicatorSettings(indicators="pathways_open"))
    count = table.filter(pl.col("period") == "2024-T3")["value"].item()
    assert f"{int(count):,}" in rows[0]


def test_codes_csv_keeps_its_column_order() -> None:
    out = runner.invoke(app, ["codes", "--format", "csv"]).stdout
    assert out.splitlines()[0].startswith("system,code,nb,en")


def test_the_provenance_names_rule_regimes_and_the_treatment_start_rule() -> None:
    result = runner.invoke(app, ["indicators", str(SAMPLE)])
    assert result.exit_code == 0, result.output
    err = " ".join(result.stderr.split())
    assert "rule regime: rejected_referrals: only meaningful under the 2019 rule" in err
    assert "treatment start after detox: first_registration_after_detox" in err
