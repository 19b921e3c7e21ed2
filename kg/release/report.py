"""The data-quality report an editor reads: SHACL warnings and importer findings by subcategory."""

from __future__ import annotations

import html
import json
import re
from collections import defaultdict
from dataclasses import asdict
from pathlib import Path

from kg.rdf import Finding
from kg.reasoning.validate import ValidationReport

ORDER = {"Violation": 0, "Warning": 1, "Info": 2}


def _group_key(group: str) -> tuple[int, int, int, str]:
    """Categories and their subcategories in portfolio order (01, 1.1, 1.2 … 02, 2.1 …), then the rest."""
    if re.fullmatch(r"\d\.\d", group):
        return (0, int(group[0]), int(group[2]), "")
    if re.fullmatch(r"\d\d", group):
        return (0, int(group), 0, "")
    return (1, 0, 0, group)


def grouped(report: ValidationReport, findings: list[Finding]) -> dict[str, list[dict]]:
    """Subcategory (or section) → rows of severity, what, where, message."""
    groups: dict[str, list[dict]] = defaultdict(list)
    for result in report.results:
        groups[result.group or "other"].append(
            {
                "severity": result.severity,
                "focus": result.focus,
                "path": result.path,
                "message": result.message,
                "source": result.lines,
                "origin": "SHACL",
            }
        )
    for finding in findings:
        groups[finding.group or "other"].append(
            {
                "severity": finding.severity,
                "focus": finding.focus,
                "path": None,
                "message": finding.message,
                "source": finding.source,
                "origin": "importer",
            }
        )
    for rows in groups.values():
        rows.sort(key=lambda r: (ORDER.get(r["severity"], 3), r["source"] or "", r["message"]))
    return dict(sorted(groups.items(), key=lambda item: _group_key(item[0])))


def markdown(report: ValidationReport, findings: list[Finding], version: str) -> str:
    groups = grouped(report, findings)
    counts = report.counts()
    lines = [
        "# Data-quality report of the CapaCITIES Learning Portfolio graph",
        "",
        f"Dataset version `{version}`. SHACL: {counts.get('Violation', 0)} violations, "
        f"{counts.get('Warning', 0)} warnings, {counts.get('Info', 0)} infos; importer: {len(findings)} notes.",
        "Each row names the resource, the problem and the lines of the source text to look at.",
        "",
    ]
    for group, rows in groups.items():
        title = (
            f"Subcategory {group}" if "." in group else f"Category {group}" if group.isdigit() else group.capitalize()
        )
        lines += [f"## {title}", "", "| severity | resource | problem | source lines |", "|---|---|---|---|"]
        for row in rows:
            what = row["focus"] or ""
            if row["path"]:
                what += f" ({row['path']})"
            message = row["message"].replace("|", "\\|").replace("\n", " ")
            lines.append(f"| {row['severity']} | {what.replace('|', '/')} | {message} | {row['source'] or ''} |")
        lines.append("")
    return "\n".join(lines)


def html_report(report: ValidationReport, findings: list[Finding], version: str) -> str:
    groups = grouped(report, findings)
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        "<title>Data-quality report</title>",
        "<style>body{font-family:system-ui,sans-serif;margin:1rem auto;max-width:70rem;padding:0 1rem}"
        "table{border-collapse:collapse;width:100%}td,th{border:1px solid #ccc;padding:.3rem;text-align:left;"
        "vertical-align:top}.Warning{background:#fff4d6}.Violation{background:#ffd6d6}</style></head><body>",
        "<h1>Data-quality report of the CapaCITIES Learning Portfolio graph</h1>",
        f"<p>Dataset version <code>{html.escape(version)}</code>.</p>",
    ]
    for group, rows in groups.items():
        parts.append(
            f"<h2>{html.escape(group)}</h2><table><thead><tr><th scope='col'>severity</th>"
            "<th scope='col'>resource</th><th scope='col'>problem</th><th scope='col'>source lines</th>"
            "</tr></thead><tbody>"
        )
        for row in rows:
            parts.append(
                f"<tr class='{row['severity']}'><td>{row['severity']}</td><td>{html.escape(row['focus'] or '')}"
                f"{' (' + html.escape(row['path']) + ')' if row['path'] else ''}</td>"
                f"<td>{html.escape(row['message'])}</td><td>{html.escape(row['source'] or '')}</td></tr>"
            )
        parts.append("</tbody></table>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write_reports(directory: Path, report: ValidationReport, findings: list[Finding], version: str) -> None:
    (directory / "report.md").write_text(markdown(report, findings, version), encoding="utf-8")
    (directory / "report.html").write_text(html_report(report, findings, version), encoding="utf-8")
    payload = {"results": [asdict(r) for r in report.results], "findings": [asdict(f) for f in findings]}
    (directory / "validation.json").write_text(json.dumps(payload, indent=1), encoding="utf-8")
