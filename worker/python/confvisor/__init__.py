"""Read the live config that confvisord publishes, from a Python worker.

    import confvisor

    reader = confvisor.Reader()              # CONFVISOR_SEGMENT, set by confvisord
    cfg = reader.current()                   # the same Snapshot object while nothing changed
    port = cfg.get("/database/port", type=int)
    level = cfg.get("/log/level", "info")    # the default only when the key is missing
    reader.wait_for_change(timeout=30.0)     # futex wait, GIL released; Ctrl-C works
    reader.report_applied(cfg)               # tell confvisord ("acks": true)

A Reader maps the segment read-only: it cannot corrupt it, and a corrupt or foreign segment
gives an Error, never a crash. It may be used from several threads at once, and a Reader made
before os.fork() works in the child (its subscriptions do not: start those after the fork).
"""

from __future__ import annotations

import asyncio
import logging
import os
import select
import threading
from typing import Callable, Iterator, Optional

from ._native import Error, NotFound, Snapshot, WrongType
from ._native import Notifier as _Notifier
from ._native import Reader as _NativeReader

__all__ = ["Error", "NotFound", "Reader", "Snapshot", "Subscription", "WrongType"]

_log = logging.getLogger("confvisor")


class Reader(_NativeReader):
    """A reader of one segment, /dev/shm/confvisor.NAME.

    Reader() reads the segment named by CONFVISOR_SEGMENT (confvisord sets it for its
    workers); Reader("demo") reads /dev/shm/confvisor.demo. Raises Error if the segment is
    missing, not readable by this user, truncated, corrupt or of another layout version.
    """

    def changes(self) -> Iterator[Snapshot]:
        """Yields the current Snapshot, then each new one as it is published.

        Blocks between generations (wait_for_change: the GIL released, Ctrl-C works in the
        main thread). Generations published faster than the loop body runs are coalesced:
        it gets the newest, never a stale one. Waits for the first publish if there is none.
        """
        seen = 0
        while True:
            try:
                cfg = self.current()
            except Error:
                self.wait_for_change(since=0)
                continue
            if cfg.generation != seen:
                seen = cfg.generation
                yield cfg
            self.wait_for_change(since=seen)

    def on_change(self, callback: Callable[[Snapshot], object]) -> Subscription:
        """Calls callback(snapshot) on a background thread: once with the current
        generation (when there is one), then with each new one. Returns a Subscription;
        sub.stop() ends it. An exception from the callback is logged (logger "confvisor")
        and the subscription goes on. It does not survive os.fork(): subscribe in the child.
        """
        return Subscription(self, callback)

    async def changed(self) -> Snapshot:
        """Waits, without blocking the event loop, for a generation other than the one this
        thread last got from current(), and returns it.

        The loop watches an eventfd that a thread of the library makes readable on each
        publish: no thread of the loop's executor is taken, and cancelling the await (for
        example by asyncio.wait_for) ends the wait at once.
        """
        if self.wait_for_change(0):
            return self.current()
        try:
            since = self.current().generation
        except Error:
            since = 0
        loop = asyncio.get_running_loop()
        done = loop.create_future()
        notifier = _Notifier(self)
        fd = notifier.fileno()

        def readable() -> None:
            notifier.drain()
            if done.done():
                return
            try:
                generation = self.current().generation
            except Error:
                return
            if generation != since:
                done.set_result(None)

        loop.add_reader(fd, readable)
        try:
            await done
        finally:
            loop.remove_reader(fd)
            notifier.close()
        return self.current()


class Subscription:
    """A background thread that calls a callback with each new generation: see
    Reader.on_change(). Also a context manager that stops it on exit."""

    def __init__(self, reader: Reader, callback: Callable[[Snapshot], object]) -> None:
        self._reader = reader
        self._callback = callback
        self._notifier = _Notifier(reader)
        self._stop_fd = os.eventfd(0, os.EFD_CLOEXEC | os.EFD_NONBLOCK)
        self._pid = os.getpid()
        self._stopping = False
        self._thread = threading.Thread(
            target=self._run, name=f"confvisor-on-change-{reader.segment}", daemon=True
        )
        self._thread.start()

    def _run(self) -> None:
        try:
            self._deliver_until_stopped()
        finally:
            self._close()

    def _deliver_until_stopped(self) -> None:
        delivered = 0
        fds = [self._notifier.fileno(), self._stop_fd]
        while True:
            ready, _, _ = select.select(fds, [], [])
            if self._stop_fd in ready:
                return
            self._notifier.drain()
            try:
                cfg = self._reader.current()
            except Error:
                continue  # nothing readable yet; the library keeps the reason in last_error
            if cfg.generation == delivered:
                continue
            delivered = cfg.generation
            try:
                self._callback(cfg)
            except Exception:
                _log.exception(
                    "confvisor: on_change callback failed for segment %s generation %d",
                    self._reader.segment,
                    delivered,
                )

    def _close(self) -> None:
        self._notifier.close()
        if self._stop_fd >= 0:
            os.close(self._stop_fd)
            self._stop_fd = -1

    @property
    def running(self) -> bool:
        """Whether the thread is still running (false after stop() and in a forked child)."""
        return self._thread.is_alive()

    def stop(self) -> None:
        """Stops the thread and, unless called from the callback itself, waits for it.
        Idempotent; safe in a forked child, where the thread is already gone."""
        if self._stopping:
            return
        self._stopping = True
        if os.getpid() != self._pid:
            self._close()  # the thread did not survive the fork
            return
        os.eventfd_write(self._stop_fd, 1)
        if threading.current_thread() is not self._thread:
            self._thread.join()

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
