"""Writing a release: into a staging directory, renamed into place, `current` switched atomically.

A failed build leaves nothing behind and the previous `current` untouched; a release is never
written to again once `current` points at it. Only the newest KEEP_RELEASES are kept, and never
one that a running server still holds (kg.release.leases). Staging directories of builds that
died (killed, power cut) are removed by the next build.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from kg.errors import BuildOutputError
from kg.release.leases import alive, holders

KEEP_RELEASES = 3
STAGING = ".staging-"


@contextmanager
def new_release(
    build_dir: Path, version: str, *, switch: bool = True, made: list[Path] | None = None
) -> Iterator[Path]:
    """A new release directory; `current` moves to it only if the block finishes, and only if `switch`: an
    editor's approval builds first and moves `current` (`make_current`) once its change set is recorded.
    The finished release's directory is appended to `made`."""
    releases = build_dir / "releases"
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    staging = releases / f"{STAGING}{stamp}-{os.getpid()}"
    final = releases / f"{stamp}-{version}"
    try:
        staging.mkdir(parents=True)
    except OSError as exc:
        raise BuildOutputError(f"cannot create the build directory: {exc}", file=releases) from exc
    remove_dead_staging(build_dir)
    try:
        yield staging
        staging.rename(final)
        if made is not None:
            made.append(final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if switch:
        make_current(build_dir, final)


def make_current(build_dir: Path, release: Path) -> None:
    """Point `current` at a release, atomically, and prune the releases no one uses."""
    link = build_dir / f".current-{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%f')}-{os.getpid()}"
    link.symlink_to(release.relative_to(build_dir), target_is_directory=True)
    os.replace(link, build_dir / "current")  # atomic on POSIX: readers see the old or the new build
    prune(build_dir, keep=release)


def remove_dead_staging(build_dir: Path) -> list[Path]:
    """Staging directories and link files left by builds whose process is gone."""
    removed = []
    leftovers = [*(build_dir / "releases").glob(STAGING + "*"), *build_dir.glob(".current-*")]
    for path in leftovers:
        pid = path.name.rsplit("-", 1)[-1]
        if pid.isdigit() and alive(int(pid)):
            continue  # a build running now
        if path.is_symlink() or path.is_file():
            with contextlib.suppress(OSError):
                path.unlink()
        else:
            shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed


def prune(build_dir: Path, keep: Path) -> None:
    releases = build_dir / "releases"
    held = {path.resolve() for path in holders(build_dir).values()}
    builds = sorted((p for p in releases.iterdir() if p.is_dir() and not p.name.startswith(".")), key=lambda p: p.name)
    for old in builds[:-KEEP_RELEASES]:
        if old != keep and old.resolve() not in held:
            shutil.rmtree(old, ignore_errors=True)
