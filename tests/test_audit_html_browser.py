"""The ``certpolicy audit --html`` page in a real headless Chromium (Debian's ``chromium``,
driven by Playwright), made by a real audit of loopback TLS servers: it renders, has one row
per endpoint, sorts on a header click, draws one bar per failing check code and per policy,
shows hostile certificate names as text (no script of theirs runs) and makes no network
request at all.

Without a Chromium binary the tests skip, except under CI (``CI=true``), where
``.ci/run`` installs one and a missing browser is a failure. The binary: ``$CERTPOLICY_CHROMIUM``,
else ``/usr/bin/chromium``, else ``chromium`` on the PATH.

Regenerate the docs' screenshot with::

    python tests/test_audit_html_browser.py --screenshot docs/img/audit-report.png
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from test_audit_cli import HOSTILE_CN, HOSTILE_CN_2, Lab, audit_lab

CLI = [sys.executable, "-m", "certpolicy"]
CHROMIUM_ENV = "CERTPOLICY_CHROMIUM"
BROWSER_TIMEOUT_MS = 30_000
RUN_TIMEOUT = 120


def chromium_path() -> str | None:
    """The Chromium to drive: ``$CERTPOLICY_CHROMIUM``, /usr/bin/chromium, or the PATH's."""
    configured = os.environ.get(CHROMIUM_ENV)
    if configured:
        return configured if os.path.exists(configured) else None
    if os.path.exists("/usr/bin/chromium"):
        return "/usr/bin/chromium"
    return shutil.which("chromium")


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def _unavailable(reason: str) -> None:
    """Skips, or fails under CI (where .ci/run installs the browser)."""
    if _in_ci():
        pytest.fail(f"{reason} (CI installs it: a missing browser is a failure there)")
    pytest.skip(reason)


@dataclass
class Audited:
    """A real audit run of the lab: its HTML page, its JSON report and what was expected."""

    html: Path
    data: dict[str, Any]
    lab: Lab


def run_audit(lab: Lab, html: Path, json_out: Path) -> subprocess.CompletedProcess[str]:
    """``certpolicy audit endpoints.txt --config certpolicy.toml --html ... --json ...`` in the
    lab's directory (relative names, as an administrator would type them)."""
    return subprocess.run(
        [
            *CLI,
            "audit",
            lab.endpoints.name,
            "--config",
            lab.config.name,
            "--html",
            str(html),
            "--json",
            str(json_out),
        ],
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
        cwd=lab.directory,
    )


@pytest.fixture(scope="module")
def audited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Audited]:
    directory = tmp_path_factory.mktemp("audit-html")
    with audit_lab(directory) as lab:
        html, json_out = directory / "report.html", directory / "report.json"
        result = run_audit(lab, html, json_out)
        assert result.returncode == 1, result.stdout + result.stderr
        yield Audited(html, json.loads(json_out.read_text()), lab)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    path = chromium_path()
    if path is None:
        _unavailable(
            "no Chromium binary: install Debian's chromium (apt-get install chromium) or set "
            f"${CHROMIUM_ENV}"
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright for Python is not installed (pip install '.[test]')")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=path, args=["--no-sandbox"], timeout=BROWSER_TIMEOUT_MS
        )
        try:
            yield launched
        finally:
            launched.close()


@dataclass
class Loaded:
    page: Any
    requests: list[str]
    blocked: list[str]
    problems: list[str]


@pytest.fixture
def page(browser: Any, audited: Audited) -> Iterator[Loaded]:
    """The page loaded from its file, every request recorded; anything but the page itself
    is aborted (and recorded as blocked)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(BROWSER_TIMEOUT_MS)
    url = audited.html.as_uri()
    loaded = Loaded(context.new_page(), [], [], [])

    def route(route: Any) -> None:
        if route.request.url == url:
            route.continue_()
        else:
            loaded.blocked.append(route.request.url)
            route.abort()

    context.route("**/*", route)
    loaded.page.on("request", lambda request: loaded.requests.append(request.url))
    loaded.page.on(
        "console",
        lambda message: loaded.problems.append(message.text) if message.type == "error" else None,
    )
    loaded.page.on("pageerror", lambda error: loaded.problems.append(str(error)))
    loaded.page.goto(url)
    loaded.page.wait_for_selector("html[data-ready='true']")
    try:
        yield loaded
    finally:
        context.close()


def column(page: Any, name: str) -> list[str]:
    """The text of one column (by its header class), top to bottom."""
    index = page.eval_on_selector(
        f"#endpoints thead th.col-{name}", "th => Array.from(th.parentNode.cells).indexOf(th)"
    )
    texts: list[str] = page.eval_on_selector_all(
        "#endpoints tbody tr",
        f"rows => rows.map(row => row.cells[{index}].textContent.trim())",
    )
    return texts


def test_page_renders_the_summary(page: Loaded, audited: Audited) -> None:
    assert page.page.title() == "certpolicy audit: 6 endpoints"
    assert page.page.text_content("h1") == "Certificate check audit"
    counts = {
        key: page.page.text_content(f"#count-{key} .n")
        for key in ("endpoints", "accepted", "rejected", "would_reject", "unreachable")
    }
    assert counts == {
        "endpoints": "6",
        "accepted": "2",
        "rejected": "2",
        "would_reject": "1",
        "unreachable": "1",
    }
    assert "policies: config: certpolicy.toml" in page.page.text_content(".meta")
    assert page.problems == []  # no script error, no blocked resource, no CSP complaint


def test_one_row_per_endpoint(page: Loaded, audited: Audited) -> None:
    expected = audited.lab.expected
    assert page.page.locator("#endpoints tbody tr").count() == len(expected) == 6
    assert column(page.page, "endpoint") == list(expected)  # file order
    labels = {"would_reject": "would reject"}
    assert column(page.page, "verdict") == [labels.get(v[0], v[0]) for v in expected.values()]
    policies = column(page.page, "policy")
    assert policies == [v[1] or "" for v in expected.values()]
    hostname = column(page.page, "hostname")
    wiki = list(expected).index(next(e for e, v in expected.items() if v[0] == "would_reject"))
    assert hostname[wiki] == "failedhostname.mismatch"


def test_clicking_a_header_sorts(page: Loaded, audited: Audited) -> None:
    header = page.page.locator("#endpoints thead th.col-verdict")
    header.locator("button").click()
    assert header.get_attribute("aria-sort") == "ascending"
    assert column(page.page, "verdict") == [
        "rejected",
        "rejected",
        "would reject",
        "unreachable",
        "accepted",
        "accepted",
    ]
    header.locator("button").click()
    assert header.get_attribute("aria-sort") == "descending"
    assert column(page.page, "verdict")[:2] == ["accepted", "accepted"]
    assert column(page.page, "verdict")[-2:] == ["rejected", "rejected"]
    # The line column sorts as numbers (10 after 7), and only one header is marked.
    lines = page.page.locator("#endpoints thead th.col-line")
    lines.locator("button").click()
    assert column(page.page, "line") == ["3", "4", "5", "6", "7", "10"]
    assert header.get_attribute("aria-sort") is None
    lines.locator("button").click()
    assert column(page.page, "line") == ["10", "7", "6", "5", "4", "3"]
    page.page.locator("#endpoints thead th.col-endpoint button").click()
    endpoints = column(page.page, "endpoint")
    assert endpoints == sorted(endpoints, key=lambda e: (e.split(":")[0], int(e.split(":")[1])))


def bars(page: Any, chart: str) -> dict[str, int]:
    found: list[list[str]] = page.eval_on_selector_all(
        f"#{chart} svg g.bar",
        "groups => groups.map(g => [g.getAttribute('data-label'), g.getAttribute('data-count'),"
        " String(g.querySelectorAll('rect').length),"
        " String(Math.min(...Array.from(g.querySelectorAll('rect'))"
        ".map(r => r.getBoundingClientRect().width)))])",
    )
    for _label, _count, rects, narrowest in found:
        assert int(rects) >= 1
        assert float(narrowest) > 0  # drawn, not just present
    return {label: int(count) for label, count, _rects, _width in found}


def test_charts_have_one_bar_per_failing_code_and_policy(page: Loaded, audited: Audited) -> None:
    by_code = bars(page.page, "chart-codes")
    assert by_code == {"chain.expired": 1, "chain.untrusted": 1, "hostname.mismatch": 1}
    assert by_code == audited.data["summary"]["by_code"]
    by_policy = bars(page.page, "chart-policies")
    assert by_policy == {"Web": 2, "Intranet": 1}
    # The audit-mode finding is drawn in its own colour.
    finding = page.page.locator("#chart-codes g.bar[data-label='hostname.mismatch'] rect")
    assert finding.get_attribute("class") == "would_reject"
    labels = page.page.eval_on_selector_all(
        "#chart-codes g.bar text.label", "nodes => nodes.map(n => n.textContent)"
    )
    assert labels == ["chain.expired", "chain.untrusted", "hostname.mismatch"]


def test_hostile_names_render_as_text(page: Loaded, audited: Audited) -> None:
    assert page.page.evaluate("typeof window.__pwned") == "undefined"
    # Only the page's own two scripts (the data and the code); no element from a name.
    assert page.page.locator("script").count() == 2
    assert page.page.locator("img").count() == 0
    details = " ".join(column(page.page, "detail"))
    # Certificate subjects are shown with RFC 4514 escapes, as text.
    assert "window.__pwned=1" in details
    assert "<script" in details
    assert '<img src=x onerror=\\"window.__pwned=2\\"' in details
    # The embedded JSON survived the names intact.
    embedded = page.page.evaluate("JSON.parse(document.getElementById('audit-data').textContent)")
    assert embedded["summary"] == audited.data["summary"]
    assert [e["endpoint"] for e in embedded["endpoints"]] == list(audited.lab.expected)
    embedded_details = " ".join(e["detail"] for e in embedded["endpoints"])
    assert "\\</script\\>\\<script\\>window.__pwned=1\\</script\\>" in embedded_details
    raw = audited.html.read_text()
    assert raw.count("</script>") == 2
    assert HOSTILE_CN not in raw
    assert HOSTILE_CN_2 not in raw


SYNTHETIC_HOSTILE = "x</script><script>window.__pwned=3</script><!--\u2028]]>"


def test_hostile_text_in_every_field(browser: Any, tmp_path: Path) -> None:
    """Whatever a field holds (names are checked on input, but the page must not rely on
    it), it is text: in the table, in the chart labels and in the embedded JSON."""
    from certpolicy.cli._audit_html import render_html

    bad = SYNTHETIC_HOSTILE
    report = {
        "policy": bad,
        "policy_kind": "override",
        "mode": "audit",
        "checks": {
            "chain": {"status": "failed", "code": bad, "detail": bad},
            "hostname": {"status": "passed", "code": None, "detail": bad},
        },
        "chain": [{"subject": bad, "not_after": bad}],
    }
    data = {
        "generated_at": bad,
        "policies_source": bad,
        "summary": {"endpoints": 2, "rejected": 0, "audit_findings": 1, "unreachable": 1},
        "endpoints": [
            {
                "endpoint": bad,
                "line": 1,
                "verdict": "would_reject",
                "report": report,
                "error": None,
            },
            {"endpoint": bad, "line": 2, "verdict": "unreachable", "report": None, "error": bad},
        ],
    }
    page_file = tmp_path / "hostile.html"
    page_file.write_text(render_html(data))
    context = browser.new_context()
    context.set_default_timeout(BROWSER_TIMEOUT_MS)
    requests: list[str] = []
    try:
        page = context.new_page()
        page.on("request", lambda request: requests.append(request.url))
        page.goto(page_file.as_uri())
        page.wait_for_selector("html[data-ready='true']")
        assert page.evaluate("typeof window.__pwned") == "undefined"
        assert page.locator("script").count() == 2
        assert column(page, "endpoint") == [bad, bad]
        assert column(page, "policy") == [bad, ""]
        assert column(page, "detail") == [f"chain: {bad}", bad]
        assert bars(page, "chart-codes") == {bad: 1}
        assert bars(page, "chart-policies") == {bad: 1}
        embedded = page.evaluate("JSON.parse(document.getElementById('audit-data').textContent)")
        assert embedded["endpoints"][0]["detail"] == f"chain: {bad}"
        assert embedded["policies_source"] == bad
        assert requests == [page_file.as_uri()]
    finally:
        context.close()


def test_no_network_request(page: Loaded, audited: Audited) -> None:
    page.page.locator("#endpoints thead th.col-detail button").click()
    assert page.requests == [audited.html.as_uri()]
    assert page.blocked == []
    raw = audited.html.read_text()
    for marker in ("http://", "https://", "//fonts.", "@import", "url("):
        assert marker not in raw.replace("http://www.w3.org/2000/svg", ""), marker


def test_table_complete_without_javascript(browser: Any, audited: Audited) -> None:
    context = browser.new_context(java_script_enabled=False)
    context.set_default_timeout(BROWSER_TIMEOUT_MS)
    try:
        page = context.new_page()
        page.goto(audited.html.as_uri())
        assert page.locator("#endpoints tbody tr").count() == 6
        assert page.locator("svg").count() == 0  # the charts need the script
        assert page.text_content("#count-rejected .n") == "2"
    finally:
        context.close()


# --- the docs' screenshot ---


def take_screenshot(browser: Any, target: Path) -> None:
    """Audits a fresh lab and saves a screenshot of its HTML report to ``target``."""
    with tempfile.TemporaryDirectory() as temp:
        directory = Path(temp)
        with audit_lab(directory, hostile=False) as lab:
            html = directory / "report.html"
            result = run_audit(lab, html, directory / "report.json")
            if result.returncode not in (0, 1, 3):
                raise RuntimeError(result.stderr)
        context = browser.new_context(viewport={"width": 1280, "height": 720})
        try:
            shot = context.new_page()
            shot.goto(html.as_uri())
            shot.wait_for_selector("html[data-ready='true']")
            target.parent.mkdir(parents=True, exist_ok=True)
            shot.screenshot(path=str(target), full_page=True)
        finally:
            context.close()


def screenshot(target: Path, chromium: str | None = None) -> None:
    """:func:`take_screenshot` with its own browser (for the command line below)."""
    from playwright.sync_api import sync_playwright

    path = chromium or chromium_path()
    if path is None:
        raise SystemExit(f"no Chromium binary (set ${CHROMIUM_ENV})")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=path, args=["--no-sandbox"], timeout=BROWSER_TIMEOUT_MS
        )
        try:
            take_screenshot(launched, target)
        finally:
            launched.close()


def test_screenshot_tooling(browser: Any, tmp_path: Path) -> None:
    target = tmp_path / "img" / "shot.png"
    take_screenshot(browser, target)
    data = target.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    width = int.from_bytes(data[16:20], "big")
    assert width == 1280


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--screenshot", metavar="PNG", required=True, type=Path)
    parser.add_argument("--chromium", help=f"browser binary (default: ${CHROMIUM_ENV} or found)")
    options = parser.parse_args()
    screenshot(options.screenshot, options.chromium)
    print(f"wrote {options.screenshot}")
