"""The Jinja2 templates of the build's pages for people, and the one environment that renders them.

report.html.j2 and report.md.j2 are the data-quality report (kg.release.report);
class-diagram.svg.j2 is the ontology's class diagram on the pyLODE page (kg.release.document).
Python prepares the data (grouping, sorting, layout coordinates); the templates hold the markup.
"""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent),
    # Every value from the data is escaped in HTML and SVG, and in any template not named otherwise;
    # Markdown is not HTML (its table cells are escaped in report.md.j2).
    autoescape=select_autoescape(enabled_extensions=("html.j2", "svg.j2"), disabled_extensions=("md.j2",)),
    # A misspelt name fails the build instead of leaving a blank in the page.
    undefined=StrictUndefined,
    # Block tags on lines of their own leave no line of their own in the output.
    trim_blocks=True,
    lstrip_blocks=True,
)
