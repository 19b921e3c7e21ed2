"""What a release is on disk: its files, their formats, and how a server finds and opens the current one.

A release is a directory under build/releases/, written once and never changed after `current`
points at it (kg.release.write). The build writes it; servers, the CLI and publishing read it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from kg.errors import BuildOutputError
from kg.settings import Settings

DATASET_FILE = "dataset.nq"
SUMMARY_FILE = "summary.json"
VOID_FILE = "void.ttl"
ONTOLOGY_PAGE = "ontology.html"
EXPORT_FORMATS: dict[str, tuple[ox.RdfFormat, str]] = {
    "trig": (ox.RdfFormat.TRIG, "dataset.trig"),
    "nquads": (ox.RdfFormat.N_QUADS, DATASET_FILE),
    "turtle": (ox.RdfFormat.TURTLE, "dataset.ttl"),
    "jsonld": (ox.RdfFormat.JSON_LD, "dataset.jsonld"),
}
MEDIA_TYPES = {
    ".trig": "application/trig",
    ".nq": "application/n-quads",
    ".ttl": "text/turtle",
    ".jsonld": "application/ld+json",
}


def dump_name(file_name: str, version: str) -> str:
    """dataset.trig → dataset-<version>.trig: dumps are named by the dataset version."""
    stem, suffix = file_name.rsplit(".", 1)
    return f"{stem}-{version}.{suffix}"


@dataclass(frozen=True)
class Release:
    """One built release: its directory and the summary the build wrote into it."""

    directory: Path
    summary: dict[str, Any]

    @classmethod
    def open(cls, directory: Path) -> Release:
        directory = directory.resolve()
        path = directory / SUMMARY_FILE
        if not (directory / DATASET_FILE).exists():
            raise BuildOutputError("no build yet: run `capkg build` first", file=directory)
        try:
            summary = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise BuildOutputError(f"cannot read the build's summary: {exc}", file=path) from exc
        return cls(directory, summary)

    @property
    def version(self) -> str:
        return str(self.summary["version"])

    @property
    def graphs(self) -> dict[str, int]:
        return dict(self.summary["graphs"])

    @property
    def dataset(self) -> Path:
        return self.directory / DATASET_FILE


def current_build(settings: Settings) -> Path:
    """The release `build/current` points at, resolved (a later build moves the link, not this path)."""
    path = settings.build_dir / "current"
    if not (path / DATASET_FILE).exists():
        raise BuildOutputError("no build yet: run `capkg build` first", file=path)
    return path.resolve()
