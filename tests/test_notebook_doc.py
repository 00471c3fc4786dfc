"""docs/notebook.md stays true: its Python blocks run in order, its command lines through the CLI.

The blocks run in a temporary folder that sees the shipped ``sample_data/`` (files the walk-through
writes land there, not in the repository).
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import altair as alt
import pytest
from typer.testing import CliRunner

from pakkeforlop_cli.main import app

ROOT = Path(__file__).parent.parent
DOC = ROOT / "docs" / "notebook.md"
TEXT = DOC.read_text(encoding="utf-8")


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"^```{lang}\n(.*?)^```", TEXT, flags=re.DOTALL | re.MULTILINE)


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "sample_data").symlink_to(ROOT / "sample_data")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_python_blocks_run_in_order(workdir: Path) -> None:
    blocks = _blocks("python")
    assert len(blocks) >= 8
    namespace: dict[str, object] = {}
    for i, block in enumerate(blocks, start=1):
        exec(compile(block, f"{DOC.name} block {i}", "exec"), namespace)  # our own doc
    # the charts the walk-through shows are chart objects a notebook displays, and valid specs
    for name in ("trend_chart", "panels", "funnel_chart"):
        chart = namespace[name]
        assert isinstance(chart, alt.TopLevelMixin), name
        assert chart.to_dict(validate=True)["$schema"].startswith("https://vega.github.io/")
    # the saved chart opens offline: its scripts are inline
    saved = (workdir / "funnel.html").read_text(encoding="utf-8")
    assert "<script src=" not in saved and "vegaEmbed" in saved
    assert (workdir / "report.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_command_lines_run(workdir: Path) -> None:
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
    assert (workdir / "report.html").exists()


def test_the_screenshot_is_committed_and_its_command_documented() -> None:
    (shell,) = _blocks("sh")
    assert "pakkeforlop report sample_data/extract.parquet -o report.html" in shell
    assert "--screenshot=docs/report.png" in shell
    png = ROOT / "docs" / "report.png"
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) < 500_000
