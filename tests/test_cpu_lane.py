"""The CPU lane: searches and pages run off the event loop a few at a time; the rest wait briefly or get 503."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from api.plumbing.cpu import CpuLane
from kg.errors import ServerBusy


def test_work_runs_off_the_event_loop_and_its_answer_comes_back() -> None:
    async def main() -> tuple[str, str]:
        lane = CpuLane(threads=1)
        try:
            return threading.current_thread().name, await lane.run(lambda: threading.current_thread().name)
        finally:
            lane.close()

    loop_thread, worker = asyncio.run(main())
    assert worker != loop_thread
    assert worker.startswith("cpu-work")


def test_no_more_than_the_lane_s_threads_run_at_once() -> None:
    running, most = [0], [0]
    lock = threading.Lock()

    def work() -> None:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.02)
        with lock:
            running[0] -= 1

    async def main() -> None:
        lane = CpuLane(threads=2, wait=5, queue=64)
        try:
            await asyncio.gather(*(lane.run(work) for _ in range(12)))
        finally:
            lane.close()

    asyncio.run(main())
    assert most[0] == 2


def test_beyond_the_queue_the_answer_is_busy_at_once() -> None:
    release = threading.Event()

    async def main() -> list[object]:
        lane = CpuLane(threads=1, wait=5, queue=2)
        try:
            first = asyncio.ensure_future(lane.run(release.wait, 5))
            await asyncio.sleep(0.05)  # the first holds the only thread
            waiting = [asyncio.ensure_future(lane.run(lambda: "later")) for _ in range(2)]
            await asyncio.sleep(0.05)
            started = time.monotonic()
            with pytest.raises(ServerBusy, match="already waiting"):
                await lane.run(lambda: "refused")
            assert time.monotonic() - started < 1  # refused at once, not after the wait
            release.set()
            return [await first, *await asyncio.gather(*waiting)]
        finally:
            release.set()
            lane.close()

    assert asyncio.run(main()) == [True, "later", "later"]


def test_a_request_that_waits_too_long_is_told_the_server_is_busy() -> None:
    release = threading.Event()

    async def main() -> None:
        lane = CpuLane(threads=1, wait=0.1, queue=8)
        try:
            holder = asyncio.ensure_future(lane.run(release.wait, 5))
            await asyncio.sleep(0.05)
            with pytest.raises(ServerBusy, match="within 0.1 s"):
                await lane.run(lambda: None)
            release.set()
            await holder
        finally:
            release.set()
            lane.close()

    asyncio.run(main())
    assert ServerBusy.http_status == 503 and ServerBusy.retry_after == 1


async def _once_free(lane: CpuLane) -> bool:
    """The lane's answer once its thread is back (on a loaded machine the released work may take a while)."""
    deadline = time.monotonic() + 10
    while True:
        try:
            return await lane.run(lambda: True)
        except ServerBusy:
            if time.monotonic() > deadline:
                raise


def test_a_client_that_leaves_does_not_free_the_thread_before_its_work_is_done() -> None:
    """Otherwise clients that hang up at once could queue any amount of work behind the pool."""
    release = threading.Event()

    async def main() -> tuple[bool, bool]:
        lane = CpuLane(threads=1, wait=0.2, queue=8)
        try:
            gone = asyncio.ensure_future(lane.run(release.wait, 5))
            await asyncio.sleep(0.05)
            gone.cancel()  # the client hung up; its work still holds the thread
            await asyncio.sleep(0.05)
            refused = False
            try:
                await lane.run(lambda: None)
            except ServerBusy:
                refused = True
            release.set()
            return refused, await _once_free(lane)
        finally:
            release.set()
            lane.close()

    refused, later = asyncio.run(main())
    assert refused  # the thread was still taken by the departed client's work
    assert later  # and came back once that work was done
