"""Which releases running servers hold: one lease file per server process in build/run/.

A server writes `run/<pid>.json` naming the release it serves (and rewrites it when it swaps), and
removes it when it stops. Pruning old releases skips every release a live process holds, and
`capkg reload` signals the processes listed there. A lease whose process is gone is stale and ignored.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

RUN_DIR = "run"


def _lease_path(build_dir: Path, pid: int) -> Path:
    return build_dir / RUN_DIR / f"{pid}.json"


def hold(build_dir: Path, release: Path, pid: int | None = None) -> None:
    """Record that this process serves `release` (atomically: readers see the old lease or the new one)."""
    pid = pid or os.getpid()
    path = _lease_path(build_dir, pid)
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_suffix(".tmp")
    staging.write_text(json.dumps({"pid": pid, "release": str(release.resolve())}), encoding="utf-8")
    os.replace(staging, path)


def release(build_dir: Path, pid: int | None = None) -> None:
    with contextlib.suppress(FileNotFoundError):
        _lease_path(build_dir, pid or os.getpid()).unlink()


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


def holders(build_dir: Path) -> dict[int, Path]:
    """Live server processes and the release each serves; stale leases are removed on the way."""
    found: dict[int, Path] = {}
    for path in sorted((build_dir / RUN_DIR).glob("*.json")):
        try:
            lease = json.loads(path.read_text(encoding="utf-8"))
            pid, served = int(lease["pid"]), Path(lease["release"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if alive(pid):
            found[pid] = served
        else:
            with contextlib.suppress(OSError):
                path.unlink()
    return found
