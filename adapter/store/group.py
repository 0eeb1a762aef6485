"""Group commit: the writes that wait for a store's writer lock at one moment share one
unit of work (issue 13, D-175).

A push to `/fhir` is small (a few rows), but its unit of work is not: the writer's lock,
the keyring's registry check, a signed audit checkpoint and a commit (an fsync on
SQLite). At 50 pushes a second one writer is busy most of the time and requests queue.
`GroupCommit.run` queues its work; the first caller that gets the group lock (the
leader) takes every work queued by then for the same actor and runs them one after the
other in one `Store.run`, signs one checkpoint and commits once; each caller then gets
its own result. Nobody is answered before that commit: a push answered 2xx is durable.

Failure isolation: when one work raises (a transaction Bundle refused, a conflict), the
whole unit of work is rolled back, that caller gets its error, and the others run again
as a group without it (a work is run from the start, as `Store.run` does for a race).
Each work must therefore be safe to run again, as every `Store.run` work already is.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Generic, TypeVar

from adapter.errors import ConcurrentUpdateError
from adapter.store.audit import Actor

if TYPE_CHECKING:
    from adapter.store.workspace import Store, Workspace

T = TypeVar("T")


@dataclass(slots=True, eq=False)
class _Waiting(Generic[T]):
    """One caller's work, and what became of it once its group ran."""

    actor: Actor
    work: Callable[[Workspace], T]
    done: threading.Event = field(default_factory=threading.Event)
    result: T | None = None
    error: BaseException | None = None

    def answer(self) -> T:
        if self.error is not None:
            raise self.error
        return self.result  # type: ignore[return-value]  # set with done, T may be None


class _Refused(Exception):
    """Leaves the group's unit of work (rolling it back) naming the work that failed."""

    def __init__(self, waiting: _Waiting[object], error: BaseException) -> None:
        super().__init__("a work of the group failed")
        self.waiting = waiting
        self.error = error


class GroupCommit:
    """The group commit of one store (one per store: the store's writes all pass here)."""

    def __init__(self, store: Store, *, limit: int = 64) -> None:
        self.store = store
        self.limit = limit  # at most this many works in one unit of work
        self._queue: list[_Waiting[object]] = []
        self._guard = threading.Lock()  # over the queue
        self._leader = threading.Lock()  # one group at a time
        self.groups = 0  # units of work run (for tests and the benchmark)

    def run(self, actor: Actor, work: Callable[[Workspace], T]) -> T:
        """Run `work` in a unit of work shared with the works queued meanwhile; its
        result (or its error) once that unit of work has committed (or failed)."""
        waiting: _Waiting[T] = _Waiting(actor, work)
        with self._guard:
            self._queue.append(waiting)  # type: ignore[arg-type]  # answered by identity
        while not waiting.done.is_set():
            with self._leader:
                if waiting.done.is_set():
                    break  # a leader before us ran it
                self._lead()
            with self._guard:  # never spin on a work that no group holds any more
                lost = not waiting.done.is_set() and all(w is not waiting for w in self._queue)
            if lost:
                raise RuntimeError("a queued work was neither answered nor left queued")
        return waiting.answer()

    def _lead(self) -> None:
        with self._guard:
            if not self._queue:
                return
            actor = self._queue[0].actor
            group = [w for w in self._queue if w.actor == actor][: self.limit]
            self._queue = [w for w in self._queue if not any(w is g for g in group)]
        while group:
            group = self._attempt(actor, group)

    def _attempt(self, actor: Actor, group: list[_Waiting[object]]) -> list[_Waiting[object]]:
        """Run the group; the works still to run (all but a failed one) or []."""

        races: tuple[type[Exception], ...] = (ConcurrentUpdateError, *self.store.database.races)

        def together(space: Workspace) -> list[object]:
            results = []
            for waiting in group:
                try:
                    results.append(waiting.work(space))
                except races:
                    raise  # the store runs the whole group again
                except Exception as exc:  # this one's own failure: the others run again
                    raise _Refused(waiting, exc) from exc
            return results

        try:
            results = self.store.run(actor, together)
        except _Refused as refused:
            refused.waiting.error = refused.error
            refused.waiting.done.set()
            return [w for w in group if w is not refused.waiting]
        except BaseException as exc:  # the unit of work itself failed: each caller hears it
            for waiting in group:
                waiting.error = exc
                waiting.done.set()
            if not isinstance(exc, Exception):
                raise  # an interrupt: the leader's thread ends
            return []
        finally:
            self.groups += 1
        for waiting, result in zip(group, results, strict=True):
            waiting.result = result
            waiting.done.set()
        return []
