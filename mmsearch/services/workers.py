"""Running file work (hashing, decoding) on a thread pool with a bounded queue."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Generator, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def default_workers() -> int:
    return max(2, os.cpu_count() or 2)


def bounded_map(
    fn: Callable[[T], R],
    items: Iterable[T],
    workers: int | None = None,
    cancel: threading.Event | None = None,
) -> Generator[R, None, None]:
    """`fn` over `items` on threads, results in completion order.

    Threads suffice because Pillow's decoders and hashlib release the GIL. At most a few
    items per worker are in flight, so memory stays flat on a library of any size; when
    `cancel` is set no new item starts and the ones in flight are still yielded.
    """
    workers = workers or default_workers()
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="mmsearch-io")
    pending: set[Future[R]] = set()
    queue = iter(items)
    exhausted = False
    try:
        while True:
            while not exhausted and len(pending) < workers * 4:
                if cancel is not None and cancel.is_set():
                    exhausted = True
                    break
                item = next(queue, _END)
                if item is _END:
                    exhausted = True
                    break
                pending.add(pool.submit(fn, item))  # type: ignore[arg-type]
            if not pending:
                return
            finished, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
            for future in finished:
                yield future.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


_END = object()
