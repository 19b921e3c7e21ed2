"""What a release is on disk: its files, their formats, and how a server finds and opens the current one.

A release is a directory under build/releases/, written once and never changed after `current`
points at it (kg.release.write). The build writes it; servers, the CLI and publishing read it.
"""

from __future__ import annotations

import hashlib
import json
import os
from concurrent.futures import ThreadPoolExecutor
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
SHAPES_FILE = "shapes.ttl"  # the SHACL shapes the build validated with, served at /shapes
SOURCE_TEXT_PREFIX = "source-"  # source-<file name>: the source texts, served at <base>id/source/<file name>
CATALOGUE_FILE = "catalogue.sqlite"  # the search catalogue and its full-text index (kg.search.catalogue)
VERIFIED_RELEASE = "CAPKG_VERIFIED_RELEASE"  # environment: the release `capkg serve` verified before the app
STORE_DIR = "store"  # the dataset as a read-only on-disk Oxigraph store, shared by every query worker
ANSWERS_DIR = "answers"  # named-query answers the build computed (kg.search.answers)
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


def file_manifest(directory: Path) -> dict[str, dict[str, int | str]]:
    """Size and SHA-256 of every file of a release but its summary: what a server verifies before serving it."""
    manifest: dict[str, dict[str, int | str]] = {}
    for path in sorted(p for p in directory.iterdir() if p.is_file() and p.name != SUMMARY_FILE):
        manifest[path.name] = {"bytes": path.stat().st_size, "sha256": _sha256(path)}
    return manifest


def folder_manifest(directory: Path, folder: str) -> dict[str, dict[str, int | str]]:
    """Size and SHA-256 of every file under one folder of a release, named `<folder>/<path>`.

    Kept apart from `file_manifest`: the store's files (RocksDB's) differ from build to build for the
    same data, which the dataset and the dumps never do; the kept answers are many small files.
    """
    root = directory / folder
    return {
        f"{folder}/{path.relative_to(root).as_posix()}": {"bytes": path.stat().st_size, "sha256": _sha256(path)}
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def store_manifest(directory: Path) -> dict[str, dict[str, int | str]]:
    return folder_manifest(directory, STORE_DIR)


def answers_manifest(directory: Path) -> dict[str, dict[str, int | str]]:
    return folder_manifest(directory, ANSWERS_DIR)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 23):  # 8 MiB: hashed without the GIL, a few takes of it per file
            digest.update(chunk)
    return digest.hexdigest()


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

    def verify(self, only: list[str] | None = None) -> Release:
        """Check every file (or those named in `only`) against the manifest the build wrote; a corrupted or
        missing file is named.

        Releases written before builds carried a manifest (and test fixtures) have none: only their
        dataset's presence was checked by `open`.
        """
        listed = {
            **dict(self.summary.get("files") or {}),
            **dict(self.summary.get("store_files") or {}),
            **dict(self.summary.get("answer_files") or {}),
        }
        if only is not None:
            listed = {name: entry for name, entry in listed.items() if name in only}
        for name, expected in sorted(listed.items()):  # sizes first: a cut file is named before any hashing
            path = self.directory / name
            try:
                size = path.stat().st_size
            except OSError as exc:
                raise BuildOutputError(f"the release is incomplete: {exc.strerror}", file=path) from exc
            if size != expected["bytes"]:
                raise BuildOutputError(
                    f"the file has {size} bytes where the build wrote {expected['bytes']}: the release is corrupt",
                    file=path,
                )
        # hashlib hashes without the GIL: one thread a core, the largest files first, so that the dataset's dump
        # and the store's files (half each at 100x the portfolio) are hashed side by side
        largest_first = sorted(listed, key=lambda name: -int(listed[name]["bytes"]))
        with ThreadPoolExecutor(max_workers=max(1, min(len(listed), os.cpu_count() or 1))) as pool:
            hashed = pool.map(lambda name: _sha256(self.directory / name), largest_first)
            digests = dict(zip(largest_first, hashed, strict=True))
        for name in sorted(listed):
            if digests[name] != listed[name]["sha256"]:
                raise BuildOutputError(
                    "the file's SHA-256 differs from the build's: the release is corrupt", file=self.directory / name
                )
        return self

    @property
    def version(self) -> str:
        return str(self.summary["version"])

    @property
    def graphs(self) -> dict[str, int]:
        return dict(self.summary["graphs"])

    @property
    def dataset(self) -> Path:
        return self.directory / DATASET_FILE

    @property
    def store(self) -> Path | None:
        """The release's on-disk store, if its build wrote one (and listed its files in the manifest)."""
        return self.directory / STORE_DIR if self.summary.get("store_files") else None

    @property
    def answers(self) -> Path | None:
        """The named-query answers its build kept, if it kept any (and listed them in the manifest)."""
        return self.directory / ANSWERS_DIR if self.summary.get("answer_files") else None


def current_build(settings: Settings) -> Path:
    """The release `build/current` points at, resolved (a later build moves the link, not this path)."""
    path = settings.build_dir / "current"
    if not (path / DATASET_FILE).exists():
        raise BuildOutputError("no build yet: run `capkg build` first", file=path)
    return path.resolve()
