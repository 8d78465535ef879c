"""await reader.changed(): the loop keeps running while it waits, and a cancelled wait
leaves nothing behind."""

import asyncio
import os
import threading

import confvisor
import pytest


def open_fds():
    return len(os.listdir("/proc/self/fd"))


def test_changed_waits_without_blocking_the_loop(segment):
    segment.publish({"n": 1})
    reader = confvisor.Reader(segment.name)

    async def main():
        assert reader.current().get("/n") == 1
        ticks = 0

        async def ticker():
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.01)

        tick_task = asyncio.create_task(ticker())
        loop = asyncio.get_running_loop()
        loop.call_later(0.3, lambda: threading.Thread(target=segment.publish, args=({"n": 2},)).start())
        cfg = await asyncio.wait_for(reader.changed(), timeout=20)
        tick_task.cancel()
        return cfg, ticks

    cfg, ticks = asyncio.run(main())
    assert cfg.get("/n") == 2
    assert cfg is reader.current()
    assert ticks >= 10  # the loop ran other tasks during the wait


def test_changed_returns_at_once_for_a_change_already_there(segment):
    segment.publish({"n": 1})
    reader = confvisor.Reader(segment.name)

    async def main():
        reader.current()
        segment.publish({"n": 2})
        return await asyncio.wait_for(reader.changed(), timeout=5)

    assert asyncio.run(main()).get("/n") == 2


def test_a_cancelled_wait_leaves_no_thread_or_fd(segment):
    segment.publish({"n": 1})
    reader = confvisor.Reader(segment.name)
    reader.current()
    threads, fds = threading.active_count(), open_fds()

    async def main():
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(reader.changed(), timeout=0.2)

    for _ in range(3):
        asyncio.run(main())
    assert threading.active_count() == threads
    assert open_fds() == fds
