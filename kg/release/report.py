"""The data-quality report an editor reads: SHACL warnings and importer findings by subcategory.

The rows are grouped and sorted here; templates/report.md.j2 and report.html.j2 lay them out.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import asdict
from pathlib import Path

from rdflib import Graph
from rdflib.namespace import PROV, RDFS

from kg.rdf import Finding
from kg.reasoning.validate import ValidationReport
from kg.release.templates import TEMPLATES

ORDER = {"Violation": 0, "Warning": 1, "Info": 2}


def _group_key(group: str) -> tuple[int, int, int, str]:
    """Categories and their subcategories in portfolio order (01, 1.1, 1.2 … 02, 2.1 …), then the rest."""
    if re.fullmatch(r"\d\.\d", group):
        return (0, int(group[0]), int(group[2]), "")
    if re.fullmatch(r"\d\d", group):
        return (0, int(group), 0, "")
    return (1, 0, 0, group)


def contributions(graph: Graph) -> dict[str, str]:
    """Each resource partners added or changed → which change sets, by whom (kg.changes.patch's PROV-O)."""
    said: dict[str, list[str]] = defaultdict(list)
    for how, predicate in (("added", PROV.wasGeneratedBy), ("changed", PROV.wasInfluencedBy)):
        for resource, change in sorted(graph.subject_objects(predicate)):
            people = {
                str(graph.value(association, PROV.hadRole)).rsplit("#", 1)[-1]: str(
                    graph.value(graph.value(association, PROV.agent), RDFS.label)
                )
                for association in graph.objects(change, PROV.qualifiedAssociation)
            }
            number = str(change).rsplit("/", 1)[-1]
            said[str(resource)].append(
                f"{how} by change set {number} (proposed by {people.get('proposer', '?')}, "
                f"approved by {people.get('approver', '?')})"
            )
    return {resource: "; ".join(sorted(texts)) for resource, texts in said.items()}


def grouped(
    report: ValidationReport, findings: list[Finding], contributed: dict[str, str] | None = None
) -> dict[str, list[dict]]:
    """Subcategory (or section) → rows of severity, what, where, message. A resource partners contributed
    has no source lines: its row says which change set it came from instead."""
    contributed = contributed or {}
    groups: dict[str, list[dict]] = defaultdict(list)
    for result in report.results:
        groups[result.group or "other"].append(
            {
                "severity": result.severity,
                "focus": result.focus,
                "path": result.path,
                "message": result.message,
                "source": result.lines or contributed.get(result.focus or ""),
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
        rows.sort(key=_row_order)
    return dict(sorted(groups.items(), key=lambda item: _group_key(item[0])))


def _row_order(row: dict) -> tuple[int, str, str, str, str, str]:
    """Severity, source lines, message, then what the row is about: a total order, the same in every build."""
    return (
        ORDER.get(row["severity"], 3),
        row["source"] or "",
        row["message"],
        row["focus"] or "",
        row["path"] or "",
        row["origin"],
    )


def markdown(
    report: ValidationReport, findings: list[Finding], version: str, contributed: dict[str, str] | None = None
) -> str:
    """The report as Markdown, a table per subcategory (templates/report.md.j2)."""
    counts = report.counts()
    return TEMPLATES.get_template("report.md.j2").render(
        version=version,
        groups=grouped(report, findings, contributed),
        contributed=sorted((contributed or {}).items()),
        violations=counts.get("Violation", 0),
        warnings=counts.get("Warning", 0),
        infos=counts.get("Info", 0),
        notes=len(findings),
    )


def html_report(
    report: ValidationReport, findings: list[Finding], version: str, contributed: dict[str, str] | None = None
) -> str:
    """The report as one HTML page, a table per subcategory (templates/report.html.j2)."""
    return TEMPLATES.get_template("report.html.j2").render(
        version=version, groups=grouped(report, findings, contributed), contributed=sorted((contributed or {}).items())
    )


def write_reports(
    directory: Path,
    report: ValidationReport,
    findings: list[Finding],
    version: str,
    contributed: dict[str, str] | None = None,
) -> None:
    (directory / "report.md").write_text(markdown(report, findings, version, contributed), encoding="utf-8")
    (directory / "report.html").write_text(html_report(report, findings, version, contributed), encoding="utf-8")
    ordered = sorted(findings, key=lambda f: (f.severity, f.group or "~", f.focus or "", f.message, f.source or ""))
    payload = {"results": [asdict(r) for r in report.results], "findings": [asdict(f) for f in ordered]}
    (directory / "validation.json").write_text(json.dumps(payload, indent=1), encoding="utf-8")
