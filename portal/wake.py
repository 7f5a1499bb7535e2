"""After a commit, wake the task queue for the rows just written.

The queue is only a wake-up (docs/security.md, 'Task queue delivery'): the minute sweeps find every row a lost
wake-up missed, so with no enqueuer installed (tests that step tasks themselves, a queue that is down) nothing
is lost, only later.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager


class Waker:
    def __init__(self) -> None:
        self._enqueue: Callable[[list[int]], None] | None = None

    def install(self, enqueue: Callable[[list[int]], None] | None) -> None:
        self._enqueue = enqueue

    def __call__(self, ids: Iterable[int | None]) -> None:
        ids = [i for i in ids if i]
        if ids and self._enqueue is not None:
            self._enqueue(ids)

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Nothing is enqueued inside (the demo history writes rows it then removes); the enqueuer is restored."""
        saved, self._enqueue = self._enqueue, None
        try:
            yield
        finally:
            self._enqueue = saved
