"""A small, seeded extract for the plot, report and notebook tests.

It stands in for ``sample_data/extract.parquet`` (made by the synthetic generator) so these tests
do not depend on it: a few hundred pathways over 2023-T1 .. 2024-T2 at six institutions in four
treating health trusts (two regions), with patients living in five residence trusts. Rates differ
by trust so that the funnel plots have something to show (Trust D co-creates far fewer plans).
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import json
import os
import random
import select
import shutil
import subprocess
import time
from pathlib import Path

import polars as pl

from pakkeforlop.schema import CANONICAL_SCHEMA

#: institution -> (treating health trust, treating region)
INSTITUTIONS = {
    "974100001": ("Trust A", "Region East"),
    "974100002": ("Trust A", "Region East"),
    "974100003": ("Trust B", "Region East"),
    "974100004": ("Trust C", "Region West"),
    "974100005": ("Trust D", "Region West"),
    "974100006": ("Trust D", "Region West"),
}
RESIDENCE = [
    ("Home A", "Region East", "0301"),
    ("Home B", "Region East", "3201"),
    ("Home C", "Region West", "4601"),
    ("Home D", "Region West", "1103"),
    ("Home E", "Region West", "1804"),
]
#: chance that a treatment plan is made with the patient (U-U), by treating trust
PLAN_RATE = {"Trust A": 0.75, "Trust B": 0.7, "Trust C": 0.65, "Trust D": 0.2}


def events_frame(n_pathways: int = 400, *, seed: int = 7) -> pl.DataFrame:
    """Canonical events for ``n_pathways`` pathways (one pathway per patient)."""
    rng = random.Random(seed)
    rows: list[dict[str, object]] = []
    first = dt.date(2023, 1, 2)
    for i in range(n_pathways):
        inst = rng.choice(list(INSTITUTIONS))
        trust, region = INSTITUTIONS[inst]
        home, home_region, municipality = rng.choice(RESIDENCE)
        ptype = rng.choice(["D01", "D11", "D11", "D12"])
        born = rng.randint(1950, 2008) if ptype != "D12" else rng.randint(2008, 2015)
        sex = rng.choice(["male", "female"])
        base = {
            "patient_id": f"P{i:05d}",
            "institution_id": inst,
            "pathway_type": ptype,
            "health_trust": trust,
            "health_region": region,
            "residence_trust": home,
            "residence_region": home_region,
            "municipality": municipality,
            "sex": sex,
            "birth_year": born,
            "care_level": "outpatient",
        }

        def add(day: dt.date, event: str, outcome: str | None = None, base=base) -> None:
            rows.append({**base, "event_date": day, "event": event, "outcome": outcome})

        start = first + dt.timedelta(days=rng.randint(0, 520))
        add(start, "A")
        if rng.random() < 0.08:  # rejected at referral
            add(start + dt.timedelta(days=rng.randint(3, 20)), "X", "R")
            continue
        seen = start + dt.timedelta(days=rng.randint(5, 40))
        add(seen, "M")
        decided = seen + dt.timedelta(days=rng.randint(7, 60))
        add(decided, "C", rng.choice(["P", "P", "P", "T"]) if ptype == "D01" else "P")
        if rng.random() < PLAN_RATE[trust]:
            add(decided + dt.timedelta(days=rng.randint(0, 10)), "U", "U")
        if rng.random() < 0.6:
            add(decided + dt.timedelta(days=rng.randint(0, 10)), "U", "B")
        if rng.random() < 0.5:
            add(decided + dt.timedelta(days=rng.randint(1, 20)), "S", "M")
        if rng.random() < 0.7:
            add(decided + dt.timedelta(days=rng.randint(1, 15)), "F")
        evaluated = decided + dt.timedelta(days=rng.randint(5, 70))
        add(evaluated, "E")
        ended = evaluated + dt.timedelta(days=rng.randint(10, 120))
        if ended < dt.date(2024, 8, 31):
            add(ended, "X", "G")
    frame = pl.DataFrame(rows, infer_schema_length=None)
    return frame.select(
        pl.col(c).cast(t) for c, t in CANONICAL_SCHEMA.items() if c in frame.columns
    )


def write_extract(path: Path, n_pathways: int = 400, *, seed: int = 7) -> Path:
    """Write :func:`events_frame` as a Parquet extract and return its path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    events_frame(n_pathways, seed=seed).write_parquet(path)
    return path


# --- a headless Chromium driven over the DevTools protocol -------------------------------------

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--mute-audio",
    "--hide-scrollbars",
)


def chromium_path() -> str | None:
    """Debian's chromium (installed by .ci/run), or ``$CHROMIUM``; ``None`` when absent."""

    return (
        os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    )


class Chromium:
    """A headless Chromium spoken to over ``--remote-debugging-pipe`` (no extra package).

    Messages are NUL-terminated JSON on file descriptors 3 (to the browser) and 4 (from it).
    Every event of the attached page is kept in :attr:`events`.
    """

    def __init__(self, executable: str, profile: Path, *, width: int = 1280, height: int = 900):

        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()

        def wire() -> None:  # in the child, before exec: the pipe ends become fds 3 and 4
            a, b = os.dup(to_browser_r), os.dup(from_browser_w)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.proc = subprocess.Popen(
            [
                executable,
                *CHROMIUM_FLAGS,
                "--remote-debugging-pipe",
                f"--user-data-dir={profile}",
                f"--window-size={width},{height}",
                "about:blank",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            pass_fds=(3, 4),
            preexec_fn=wire,  # noqa: PLW1509 - single-threaded test helper
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict[str, object]] = []
        self.session: str | None = None

    # -- protocol --------------------------------------------------------------------------------
    def _read_message(self, deadline: float) -> dict[str, object]:

        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                msg = "timed out waiting for Chromium"
                raise TimeoutError(msg)
            ready, _, _ = select.select([self._from_browser], [], [], left)
            if ready:
                chunk = os.read(self._from_browser, 1 << 16)
                if not chunk:
                    msg = "Chromium closed the debugging pipe"
                    raise RuntimeError(msg)
                self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(raw)  # type: ignore[no-any-return]

    def send(
        self,
        method: str,
        params: dict[str, object] | None = None,
        *,
        session: bool = True,
        timeout: float = 20.0,
    ) -> dict[str, object]:

        self._next_id += 1
        message: dict[str, object] = {"id": self._next_id, "method": method, "params": params or {}}
        if session and self.session is not None:
            message["sessionId"] = self.session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    msg = f"{method}: {reply['error']}"
                    raise RuntimeError(msg)
                result = reply.get("result", {})
                assert isinstance(result, dict)
                return result
            if "method" in reply:
                self.events.append(reply)

    def pump(self, seconds: float) -> None:
        """Collect events for a while."""

        deadline = time.monotonic() + seconds
        try:
            while True:
                self.events.append(self._read_message(deadline))
        except TimeoutError:
            pass

    def evaluate(self, expression: str) -> object:
        result = self.send(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": True},
        )
        value = result.get("result", {})
        assert isinstance(value, dict)
        return value.get("value")

    # -- page ------------------------------------------------------------------------------------
    def open_page(self) -> None:
        target = self.send("Target.createTarget", {"url": "about:blank"}, session=False)
        attached = self.send(
            "Target.attachToTarget",
            {"targetId": target["targetId"], "flatten": True},
            session=False,
        )
        self.session = str(attached["sessionId"])
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(f"{domain}.enable")

    def navigate(self, url: str) -> None:
        self.send("Page.navigate", {"url": url})

    def wait_for(self, expression: str, *, timeout: float = 30.0) -> object:
        """Poll a JavaScript expression until it is truthy."""

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            self.pump(0.1)
        msg = f"timed out waiting for {expression!r}"
        raise TimeoutError(msg)

    def screenshot(self, path: Path, *, width: int, height: int | None = None) -> None:
        """A PNG of the whole page (or its first ``height`` pixels)."""

        metrics = self.send("Page.getLayoutMetrics")
        size = metrics.get("cssContentSize") or metrics.get("contentSize")
        assert isinstance(size, dict)
        full = int(size["height"])
        shot = self.send(
            "Page.captureScreenshot",
            {
                "format": "png",
                "captureBeyondViewport": True,
                "clip": {
                    "x": 0,
                    "y": 0,
                    "width": width,
                    "height": min(full, height or full),
                    "scale": 1,
                },
            },
            timeout=60,
        )
        path.write_bytes(base64.b64decode(str(shot["data"])))

    # -- what the page did -------------------------------------------------------------------------
    def errors(self) -> list[str]:
        """Uncaught exceptions, console errors and error log entries of the page."""
        found: list[str] = []
        for e in self.events:
            method, params = e.get("method"), e.get("params")
            assert isinstance(params, dict)
            if method == "Runtime.exceptionThrown":
                found.append(str(params.get("exceptionDetails")))
            elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                found.append(str(params.get("args")))
            elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
                found.append(str(params.get("entry")))
        return found

    def requests(self) -> list[str]:
        """URLs of every request the page made (including the page itself)."""
        urls = []
        for e in self.events:
            if e.get("method") == "Network.requestWillBeSent":
                params = e.get("params")
                assert isinstance(params, dict)
                urls.append(str(params["request"]["url"]))
        return urls

    def close(self) -> None:

        with contextlib.suppress(RuntimeError, TimeoutError, OSError):
            self.send("Browser.close", session=False, timeout=5)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for fd in (self._to_browser, self._from_browser):
            with contextlib.suppress(OSError):
                os.close(fd)


#: JavaScript collecting, per chart view, whether it rendered and how much it drew.
CHART_PROBE = """
Array.from(document.querySelectorAll('[data-spec]')).map(function (view) {
  var svg = view.querySelector('svg');
  var box = svg ? svg.getBoundingClientRect() : {width: 0, height: 0};
  var count = function (selector) { return view.querySelectorAll(selector).length; };
  return {
    id: view.id, kind: view.getAttribute('data-kind'),
    rendered: view.getAttribute('data-rendered'), width: box.width, height: box.height,
    lines: count('g.mark-line.role-mark > path'), symbols: count('g.mark-symbol.role-mark > path'),
    rules: count('g.mark-rule.role-mark > line'), labels: count('g.mark-text.role-mark > text'),
    axis_labels: count('g.role-axis-label text')
  };
})
"""

#: JavaScript measuring the page's layout: elements reaching beyond the viewport (outside the
#: boxes in which tables scroll), the table boxes, and each chart's width against its box.
LAYOUT_PROBE = """
(function () {
  var vw = document.documentElement.clientWidth;
  var inScrollBox = function (el) {
    for (var p = el.parentElement; p; p = p.parentElement) {
      if (p.classList && p.classList.contains('table-wrap')) return true;
    }
    return false;
  };
  var describe = function (el, r) {
    var cls = typeof el.className === 'string' ? el.className : '';
    return el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (cls ? '.' + cls : '')
      + ' ' + Math.round(r.left) + '..' + Math.round(r.right);
  };
  var wide = [];
  Array.prototype.forEach.call(document.querySelectorAll('body *'), function (el) {
    if (el instanceof SVGElement && el.tagName.toLowerCase() !== 'svg') return;
    var r = el.getBoundingClientRect();
    if (r.width === 0 || inScrollBox(el)) return;
    if (r.left < -0.5 || r.right > vw + 0.5) wide.push(describe(el, r));
  });
  var boxes = Array.prototype.map.call(document.querySelectorAll('.table-wrap'), function (w) {
    var r = w.getBoundingClientRect();
    return {overflow: getComputedStyle(w).overflowX, width: r.width, right: r.right,
            content: w.scrollWidth};
  });
  var charts = Array.prototype.map.call(document.querySelectorAll('[data-spec]'), function (v) {
    var svg = v.querySelector('svg');
    var r = svg ? svg.getBoundingClientRect() : {width: 0, right: 0};
    return {id: v.id, kind: v.getAttribute('data-kind'), svg: r.width, right: r.right,
            box: v.getBoundingClientRect().width};
  });
  return {viewport: vw, page: document.documentElement.scrollWidth, wide: wide, boxes: boxes,
          charts: charts};
})()
"""
