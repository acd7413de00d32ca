"""The ``certpolicy audit --html`` page: one self-contained HTML file.

Everything is inline (CSS, JavaScript, data); the page loads nothing from anywhere, and its
Content-Security-Policy (``default-src 'none'``, the one script and style allowed by hash)
keeps it that way even if a browser were told otherwise. The table is rendered here, so it
is complete without JavaScript; the script sorts it (click a header) and draws the charts as
inline SVG from the JSON embedded in a ``<script type="application/json">`` element.

Every text that reaches the page (endpoint names, policy names, certificate subjects, error
details, all hostile) is escaped: :func:`html.escape` for markup, ``<``/``>``/``&`` as
``\\u003c``... in the embedded JSON (so no ``</script>`` can end it), and ``textContent``
/ ``setAttribute`` (never ``innerHTML``) in the script.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
from collections.abc import Mapping, Sequence
from typing import Any, Final

__all__ = ["CHECKS", "VERDICTS", "render_html"]

CHECKS: Final = ("chain", "hostname", "revocation")
# Verdicts, worst first (the table's sort order for the verdict column).
VERDICTS: Final = ("rejected", "would_reject", "unreachable", "accepted")
VERDICT_LABELS: Final = {
    "rejected": "rejected",
    "would_reject": "would reject",
    "unreachable": "unreachable",
    "accepted": "accepted",
}
_STATUS_RANK: Final = {"failed": 0, "skipped": 1, "passed": 2}
# Long labels are cut in the charts (the whole text is in the bar's tooltip).
MAX_LABEL_CHARS: Final = 32

_STYLE: Final = """
:root { color-scheme: light; --ok: #1a7f37; --bad: #cf222e; --warn: #9a6700;
  --off: #6e7781; --line: #d0d7de; --bg2: #f6f8fa; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0;
  padding: 20px 28px; color: #1f2328; background: #fff; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 24px 0 8px; }
.meta { color: var(--off); margin: 0 0 16px; overflow-wrap: anywhere; }
.summary { display: flex; flex-wrap: wrap; gap: 12px; margin-bottom: 8px; }
.count { border: 1px solid var(--line); border-radius: 8px; padding: 10px 16px;
  min-width: 130px; background: var(--bg2); }
.count .n { display: block; font-size: 26px; font-weight: 600; }
.count .what { color: var(--off); }
.count.accepted .n { color: var(--ok); }
.count.rejected .n { color: var(--bad); }
.count.would_reject .n { color: var(--warn); }
.count.unreachable .n { color: var(--off); }
.charts { display: flex; flex-wrap: wrap; gap: 24px; }
figure { margin: 0; flex: 1 1 420px; }
figcaption { font-weight: 600; margin: 12px 0 6px; }
.chart svg { max-width: 100%; height: auto; }
.chart .label, .chart .count-label { font-size: 12px; fill: #1f2328; }
.chart .count-label { font-weight: 600; }
rect.rejected { fill: var(--bad); }
rect.would_reject { fill: #d4a72c; }
.legend { color: var(--off); font-size: 12px; margin-top: 6px; }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px;
  margin: 0 4px 0 10px; vertical-align: baseline; }
.swatch.rejected { background: var(--bad); }
.swatch.would_reject { background: #d4a72c; }
.empty { color: var(--ok); }
table { border-collapse: collapse; width: 100%; margin-top: 4px; }
th, td { border-bottom: 1px solid var(--line); padding: 6px 8px; text-align: left;
  vertical-align: top; }
th { background: var(--bg2); position: sticky; top: 0; white-space: nowrap; }
th button { font: inherit; font-weight: 600; border: 0; background: none; padding: 0;
  cursor: pointer; color: inherit; }
th[aria-sort="ascending"] button::after { content: " \\25B2"; }
th[aria-sort="descending"] button::after { content: " \\25BC"; }
td.endpoint, td.policy { overflow-wrap: break-word; }
td.line, td.expires, td.mode { white-space: nowrap; }
td.detail { overflow-wrap: anywhere; max-width: 46ch; color: #3d444d; }
.status { font-weight: 600; }
.code { display: block; font: 12px ui-monospace, SFMono-Regular, Menlo, monospace;
  color: var(--off); }
td.passed .status { color: var(--ok); }
td.failed .status { color: var(--bad); }
tr.would_reject td.failed .status { color: var(--warn); }
td.skipped .status, td.none .status { color: var(--off); }
.verdict { font-weight: 600; border-radius: 10px; padding: 1px 8px; white-space: nowrap; }
.verdict.accepted { color: var(--ok); background: #dafbe1; }
.verdict.rejected { color: var(--bad); background: #ffebe9; }
.verdict.would_reject { color: var(--warn); background: #fff8c5; }
.verdict.unreachable { color: #57606a; background: #eaeef2; }
.mode.audit { color: var(--warn); font-weight: 600; }
"""

_SCRIPT: Final = """
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("audit-data").textContent);
  var SVG = "http://www.w3.org/2000/svg";

  function svg(name, attrs, text) {
    var node = document.createElementNS(SVG, name);
    Object.keys(attrs).forEach(function (key) { node.setAttribute(key, String(attrs[key])); });
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function cut(text) {
    return text.length > MAX_LABEL ? text.slice(0, MAX_LABEL - 1) + "\\u2026" : text;
  }

  // Horizontal bars, one per item: {label, rejected, would_reject}.
  function chart(id, items) {
    var holder = document.getElementById(id);
    if (!items.length) {
      var none = document.createElement("p");
      none.className = "empty";
      none.textContent = "No failures.";
      holder.appendChild(none);
      return;
    }
    var totals = items.map(function (item) { return item.rejected + item.would_reject; });
    var max = Math.max.apply(null, totals);
    var labelWidth = 230, barWidth = 330, rowHeight = 26;
    var width = labelWidth + barWidth + 50, height = items.length * rowHeight + 6;
    var root = svg("svg", {
      viewBox: "0 0 " + width + " " + height, width: width, height: height,
      role: "img", "aria-label": holder.getAttribute("data-title")
    });
    items.forEach(function (item, index) {
      var y = 3 + index * rowHeight, total = totals[index];
      var group = svg("g", {"class": "bar", "data-label": item.label, "data-count": total,
                            "data-rejected": item.rejected,
                            "data-would-reject": item.would_reject});
      group.appendChild(svg("title", {}, item.label + ": " + total + " (" + item.rejected +
        " rejected, " + item.would_reject + " would reject)"));
      group.appendChild(svg("text", {x: labelWidth - 8, y: y + 17, "text-anchor": "end",
                                     "class": "label"}, cut(item.label)));
      var x = labelWidth;
      ["rejected", "would_reject"].forEach(function (part) {
        if (item[part] > 0) {
          var w = Math.max(3, barWidth * item[part] / max);
          group.appendChild(svg("rect", {x: x, y: y + 3, width: w, height: rowHeight - 8,
                                         rx: 2, "class": part}));
          x += w;
        }
      });
      group.appendChild(svg("text", {x: x + 6, y: y + 17, "class": "count-label"},
                            String(total)));
      root.appendChild(group);
    });
    holder.appendChild(root);
  }

  // Failing endpoints counted per label (a check code, a policy), split into rejected and
  // would-reject; most first, then by label. A Map: labels are data, never object keys.
  function tally(labelsOf) {
    var counts = new Map();
    data.endpoints.forEach(function (entry) {
      if (entry.verdict !== "rejected" && entry.verdict !== "would_reject") { return; }
      labelsOf(entry).forEach(function (label) {
        if (!counts.has(label)) { counts.set(label, {label: label, rejected: 0, would_reject: 0}); }
        counts.get(label)[entry.verdict] += 1;
      });
    });
    return Array.from(counts.values()).sort(function (a, b) {
      var order = (b.rejected + b.would_reject) - (a.rejected + a.would_reject);
      return order || (a.label < b.label ? -1 : a.label > b.label ? 1 : 0);
    });
  }

  chart("chart-codes", tally(function (entry) { return entry.codes; }));
  chart("chart-policies", tally(function (entry) {
    return entry.policy === null ? [] : [entry.policy];
  }));

  // Sorting: each cell carries its sort key (data-key); numeric columns compare numbers.
  var table = document.getElementById("endpoints");
  var body = table.tBodies[0];
  var headers = Array.prototype.slice.call(table.tHead.rows[0].cells);
  var collator = new Intl.Collator(undefined, {numeric: true, sensitivity: "base"});
  headers.forEach(function (th, column) {
    var button = th.querySelector("button");
    button.addEventListener("click", function () {
      var ascending = th.getAttribute("aria-sort") !== "ascending";
      var numeric = th.getAttribute("data-type") === "num";
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = a.cells[column].getAttribute("data-key");
        var y = b.cells[column].getAttribute("data-key");
        var order = numeric ? Number(x) - Number(y) : collator.compare(x, y);
        return ascending ? order : -order;
      });
      rows.forEach(function (row) { body.appendChild(row); });
      headers.forEach(function (other) { other.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    });
  });
  document.documentElement.setAttribute("data-ready", "true");
})();
""".replace("MAX_LABEL", str(MAX_LABEL_CHARS))

# (header, column id, sort type)
_COLUMNS: Final = (
    ("#", "line", "num"),
    ("Endpoint", "endpoint", "text"),
    ("Policy", "policy", "text"),
    ("Mode", "mode", "text"),
    ("Chain", "chain", "text"),
    ("Hostname", "hostname", "text"),
    ("Revocation", "revocation", "text"),
    ("Verdict", "verdict", "text"),
    ("Expires", "expires", "text"),
    ("Detail", "detail", "text"),
)


def _e(value: object) -> str:
    """Text escaped for an HTML element or a quoted attribute."""
    return html.escape(str(value), quote=True)


def _json_for_script(data: object) -> str:
    """JSON that cannot end (or comment out) the ``<script>`` element holding it."""
    text = json.dumps(data, ensure_ascii=True, sort_keys=True)
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def _csp_hash(text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


def _check_cell(name: str, report: Mapping[str, Any] | None) -> str:
    check = (report or {}).get("checks", {}).get(name) if report else None
    if not isinstance(check, Mapping):
        return f'<td class="{name} none" data-key="9">—</td>'
    status = str(check.get("status", ""))
    code = check.get("code")
    key = f"{_STATUS_RANK.get(status, 8)}:{code or ''}"
    klass = status if status in _STATUS_RANK else "none"
    title = _e(check.get("detail", ""))
    code_html = f'<span class="code">{_e(code)}</span>' if code else ""
    return (
        f'<td class="{name} {klass}" data-key="{_e(key)}" title="{title}">'
        f'<span class="status">{_e(status)}</span>{code_html}</td>'
    )


def _detail(entry: Mapping[str, Any]) -> str:
    """Why the endpoint is not accepted (or what is worth knowing when it is)."""
    report = entry.get("report")
    if not isinstance(report, Mapping):
        return str(entry.get("error") or "")
    checks = report.get("checks") or {}
    failed = [
        f"{name}: {check.get('detail', '')}"
        for name, check in checks.items()
        if isinstance(check, Mapping) and check.get("status") == "failed"
    ]
    if failed:
        return "; ".join(failed)
    noted = [
        f"{name}: {check.get('detail', '')}"
        for name, check in checks.items()
        if isinstance(check, Mapping)
        and check.get("status") == "skipped"
        and check.get("code") not in (None, "skipped.policy", "skipped.offline")
    ]
    return "; ".join(noted)


def _expires(report: Mapping[str, Any] | None) -> str:
    chain = (report or {}).get("chain") if report else None
    if isinstance(chain, Sequence) and chain and isinstance(chain[0], Mapping):
        return str(chain[0].get("not_after") or "")
    return ""


def _row(entry: Mapping[str, Any]) -> str:
    report = entry.get("report") if isinstance(entry.get("report"), Mapping) else None
    verdict = str(entry.get("verdict", ""))
    policy = str(report.get("policy", "")) if report else ""
    kind = str(report.get("policy_kind", "")) if report else ""
    mode = str(report.get("mode") or "") if report else ""
    expires = _expires(report)
    detail = _detail(entry)
    rank = VERDICTS.index(verdict) if verdict in VERDICTS else len(VERDICTS)
    cells = [
        f'<td class="line" data-key="{int(entry.get("line") or 0)}">'
        f"{int(entry.get('line') or 0)}</td>",
        f'<td class="endpoint" data-key="{_e(entry.get("endpoint", ""))}">'
        f"{_e(entry.get('endpoint', ''))}</td>",
        f'<td class="policy" data-key="{_e(policy)}" title="{_e(kind)}">{_e(policy)}</td>',
        f'<td class="mode {_e(mode)}" data-key="{_e(mode)}">{_e(mode)}</td>',
        *(_check_cell(name, report) for name in CHECKS),
        f'<td class="verdict-cell" data-key="{rank}">'
        f'<span class="verdict {_e(verdict)}">{_e(VERDICT_LABELS.get(verdict, verdict))}'
        "</span></td>",
        f'<td class="expires" data-key="{_e(expires or "~")}">{_e(expires[:10])}</td>',
        f'<td class="detail" data-key="{_e(detail)}">{_e(detail)}</td>',
    ]
    return f'<tr class="{_e(verdict)}">' + "".join(cells) + "</tr>"


def _slim(entry: Mapping[str, Any]) -> dict[str, Any]:
    """What the script needs of an endpoint: its verdict, policy and failing codes (and, for
    whoever reads the page's data, the detail)."""
    report = entry.get("report") if isinstance(entry.get("report"), Mapping) else None
    checks = (report or {}).get("checks") or {}
    return {
        "endpoint": entry.get("endpoint"),
        "line": entry.get("line"),
        "verdict": entry.get("verdict"),
        "policy": report.get("policy") if report else None,
        "mode": report.get("mode") if report else None,
        "codes": [
            str(check.get("code") or "unknown")
            for check in checks.values()
            if isinstance(check, Mapping) and check.get("status") == "failed"
        ],
        "detail": _detail(entry),
    }


def render_html(data: Mapping[str, Any]) -> str:
    """The page for an audit's JSON data (the ``--json`` document)."""
    summary: Mapping[str, Any] = data.get("summary") or {}
    entries: Sequence[Mapping[str, Any]] = data.get("endpoints") or []
    total = int(summary.get("endpoints", len(entries)))
    embedded = {
        "generated_at": data.get("generated_at"),
        "policies_source": data.get("policies_source"),
        "summary": summary,
        "endpoints": [_slim(entry) for entry in entries],
    }
    csp = (
        f"default-src 'none'; script-src {_csp_hash(_SCRIPT)}; style-src {_csp_hash(_STYLE)}; "
        "img-src data:; base-uri 'none'; form-action 'none'"
    )
    counts = [
        ("endpoints", "endpoints", total),
        ("accepted", "accepted", summary.get("accepted", 0)),
        ("rejected", "rejected", summary.get("rejected", 0)),
        ("would_reject", "would reject (audit mode)", summary.get("audit_findings", 0)),
        ("unreachable", "unreachable", summary.get("unreachable", 0)),
    ]
    count_html = "".join(
        f'<div class="count {key}" id="count-{key}"><span class="n">{int(value)}</span>'
        f'<span class="what">{_e(label)}</span></div>'
        for key, label, value in counts
    )
    header_html = "".join(
        f'<th scope="col" class="col-{column}" data-type="{kind}"><button type="button">'
        f"{_e(title)}</button></th>"
        for title, column, kind in _COLUMNS
    )
    rows_html = "\n".join(_row(entry) for entry in entries)
    plural = "" if total == 1 else "s"
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{_e(csp)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="certpolicy audit">
<title>certpolicy audit: {total} endpoint{plural}</title>
<style>{_STYLE}</style>
</head>
<body>
<header>
<h1>Certificate check audit</h1>
<p class="meta">{total} endpoint{plural} · generated {_e(data.get("generated_at", ""))} ·
policies: {_e(data.get("policies_source", ""))}</p>
</header>
<section class="summary" aria-label="Summary">{count_html}</section>
<noscript><p>Charts and sorting need JavaScript; the table is complete without it.</p></noscript>
<section class="charts" aria-label="Failures">
<figure><figcaption>Failures by check code</figcaption>
<div class="chart" id="chart-codes" data-title="Failures by check code"></div></figure>
<figure><figcaption>Failing endpoints by policy</figcaption>
<div class="chart" id="chart-policies" data-title="Failing endpoints by policy"></div></figure>
</section>
<p class="legend"><span class="swatch rejected"></span>rejected (enforce mode)
<span class="swatch would_reject"></span>would reject (audit mode: let through)</p>
<h2>Endpoints</h2>
<table id="endpoints">
<thead><tr>{header_html}</tr></thead>
<tbody>
{rows_html}
</tbody>
</table>
<script type="application/json" id="audit-data">{_json_for_script(embedded)}</script>
<script>{_SCRIPT}</script>
</body>
</html>
"""
