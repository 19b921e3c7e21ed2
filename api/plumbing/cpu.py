"""CPU-bound request work (searches, search pages, source pages) off the event loop, a few at a time.

A thread frees the event loop, but Python threads share one interpreter lock: sixty searches in sixty
threads take turns with the event loop for it, and /health waits its turn behind each of them. So such
work runs on a small pool of its own (one thread by default), a request waits for a free thread at most
`cpu_wait` seconds, and at most `cpu_queue` requests wait at all; beyond either the answer is 503 with
Retry-After, at once. A thread's slot comes back when its work is really done, not when its client
leaves, so clients that hang up cannot pile work up behind the pool.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from kg.errors import ServerBusy

T = TypeVar("T")


class CpuLane:
    def __init__(self, threads: int = 1, wait: float = 5.0, queue: int = 64) -> None:
        self.threads = max(1, threads)
        self.wait = wait
        self.queue = queue
        self.waiting = 0
        self._executor = ThreadPoolExecutor(self.threads, thread_name_prefix="cpu-work")
        self._slots: asyncio.Semaphore | None = None

    async def run(self, work: Callable[..., T], *args: Any) -> T:
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.threads)
        slots = self._slots
        if self.waiting >= self.queue:
            raise ServerBusy(f"{self.waiting} searches or pages are already waiting their turn; try again shortly")
        self.waiting += 1
        try:
            await asyncio.wait_for(slots.acquire(), self.wait)
        except TimeoutError:
            raise ServerBusy(f"no thread for this work came free within {self.wait:g} s; try again shortly") from None
        finally:
            self.waiting -= 1
        future = asyncio.get_running_loop().run_in_executor(self._executor, work, *args)
        future.add_done_callback(lambda _: slots.release())
        return await asyncio.shield(future)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
