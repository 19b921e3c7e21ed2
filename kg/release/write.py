"""Writing a release: into a staging directory, renamed into place, `current` switched atomically.

A failed build leaves nothing behind and the previous `current` untouched; a release is never
written to again once `current` points at it. Only the newest KEEP_RELEASES are kept.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from kg.errors import BuildOutputError

KEEP_RELEASES = 3


@contextmanager
def new_release(build_dir: Path, version: str) -> Iterator[Path]:
    """A new release directory; `current` moves to it only if the block finishes."""
    releases = build_dir / "releases"
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    staging = releases / f".staging-{stamp}"
    final = releases / f"{stamp}-{version}"
    try:
        staging.mkdir(parents=True)
    except OSError as exc:
        raise BuildOutputError(f"cannot create the build directory: {exc}", file=releases) from exc
    try:
        yield staging
        staging.rename(final)
        link = build_dir / f".current-{stamp}"
        link.symlink_to(final.relative_to(build_dir), target_is_directory=True)
        os.replace(link, build_dir / "current")  # atomic on POSIX: readers see the old or the new build
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    prune(releases, keep=final)


def prune(releases: Path, keep: Path) -> None:
    builds = sorted((p for p in releases.iterdir() if p.is_dir() and not p.name.startswith(".")), key=lambda p: p.name)
    for old in builds[:-KEEP_RELEASES]:
        if old != keep:
            shutil.rmtree(old, ignore_errors=True)
