"""Running a coroutine from synchronous code (pyHanko's API is asynchronous underneath)."""

from __future__ import annotations

import asyncio
import concurrent.futures


def run_coroutine(coro):
    """Run `coro` to completion and return its result, even if this thread runs an event loop.

    `asyncio.run` refuses to start inside a running loop (an ASGI worker, a browser test
    driver); then the coroutine runs on a loop of its own in a short-lived thread.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()
