"""One step of a stream computed one item ahead, on a worker thread.

Offline work (``vcam apply`` on a video, ``vcam bench``) has every frame in
order and must drop none, but the live pipeline's trick still pays: while the
caller refines and composites frame *i*, the model already segments frame
*i+1* on the other core.  MediaPipe's and LiteRT's inference and OpenCV's
kernels release the GIL, so the two really run at once.

At most two items are handed to the worker before the caller has taken the
first result, so nothing can pile up however slow either side is.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
U = TypeVar("U")


def run_ahead(items: Iterable[T], step: Callable[[T], U], *,
              name: str = "ahead") -> Iterator[tuple[T, U]]:
    """``(item, step(item))`` for each item, in order, with ``step`` of the next
    item already running on one worker thread while the caller handles this one.

    ``step`` always runs on that one thread, one item at a time, so an object
    that must stay on one thread (a segmenter) can live inside it.  An
    exception in ``step`` is raised here, at its item.  Closing the iterator
    early (``break``, an exception in the caller) cancels what was not started
    and waits for the step in progress.
    """
    pool = ThreadPoolExecutor(1, thread_name_prefix=name)
    try:
        source = iter(items)
        pending: tuple[T, Future[U]] | None = None
        for item in source:
            # Submitted before the caller gets the previous result: the worker
            # moves on to this item as soon as it finishes the last one.
            queued = (item, pool.submit(step, item))
            if pending is not None:
                yield pending[0], pending[1].result()
            pending = queued
        if pending is not None:
            yield pending[0], pending[1].result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
