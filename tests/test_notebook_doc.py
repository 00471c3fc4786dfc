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


# --- the walk-through in a real Jupyter kernel, with no network ---------------------------------

#: Run first in the kernel: any connection to a host other than this machine fails, so a chart
#: that needed a CDN (or any download) could not be made without the test noticing.
_NO_NETWORK = """
import socket
_connect = socket.socket.connect
def _local_only(self, address):
    host = address[0] if isinstance(address, tuple) else address
    if isinstance(host, str) and host not in ("127.0.0.1", "::1", "localhost"):
        raise OSError(f"network use in the notebook: {address}")
    return _connect(self, address)
socket.socket.connect = _local_only
"""

#: What a chart output must not reference: a script or style fetched from the network.
_REMOTE = re.compile(r"""(?:src|href)\s*=\s*["']?https?://|cdn\.jsdelivr|unpkg\.com|requirejs""")


def test_the_walk_through_runs_in_a_kernel_and_every_chart_draws_offline(workdir: Path) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    cells = [nbformat.v4.new_code_cell(_NO_NETWORK)]
    cells += [nbformat.v4.new_code_cell(block) for block in _blocks("python")]
    notebook = nbformat.v4.new_notebook(cells=cells)
    client = nbclient.NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(workdir)}}
    )
    client.execute()
    nbformat.validate(notebook)  # the outputs are valid notebook content
    charts = [
        output
        for cell in notebook.cells
        for output in cell.get("outputs", [])
        if "vegaEmbed" in output.get("data", {}).get("text/html", "")
    ]
    # the walk-through shows the trend chart, its panels and the funnel plot
    assert len(charts) >= 3
    for output in charts:
        html = output["data"]["text/html"]
        assert not _REMOTE.search(html), _REMOTE.search(html)
        assert "vega-lite" in html.lower()
    errors = [
        o for c in notebook.cells for o in c.get("outputs", []) if o["output_type"] == "error"
    ]
    assert not errors
