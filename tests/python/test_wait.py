"""Waiting for a change: wait_for_change(), changes(), on_change(), Ctrl-C, and threads."""

import logging
import os
import signal
import subprocess
import sys
import threading
import time

import confvisor
import pytest


def publish_later(segment, document, delay=0.2):
    t = threading.Timer(delay, segment.publish, args=(document,))
    t.start()
    return t


@pytest.fixture
def reader(segment):
    segment.publish({"n": 1})
    return confvisor.Reader(segment.name)


def test_wait_for_change_times_out_when_nothing_changes(reader):
    reader.current()
    start = time.monotonic()
    assert reader.wait_for_change(timeout=0.3) is False
    assert time.monotonic() - start >= 0.29
    assert reader.wait_for_change(0) is False


def test_wait_for_change_returns_on_a_publish(segment, reader):
    assert reader.current().get("/n") == 1
    t = publish_later(segment, {"n": 2})
    try:
        assert reader.wait_for_change(timeout=20) is True
    finally:
        t.join()
    assert reader.current().get("/n") == 2


def test_a_publish_between_current_and_the_wait_is_not_missed(segment, reader):
    reader.current()
    segment.publish({"n": 2})
    assert reader.wait_for_change(timeout=5) is True


def test_wait_past_an_explicit_generation(segment, reader):
    first = reader.current().generation
    segment.publish({"n": 2})
    assert reader.current().generation == first + 1
    assert reader.wait_for_change(0, since=first) is True
    assert reader.wait_for_change(0.1, since=first + 1) is False


def test_bad_timeouts_are_value_errors(reader):
    with pytest.raises(ValueError):
        reader.wait_for_change(-1)
    with pytest.raises(ValueError):
        reader.wait_for_change(float("nan"))


def test_the_wait_releases_the_gil(segment, reader):
    reader.current()
    counter = 0
    stop = threading.Event()

    def spin():
        nonlocal counter
        while not stop.is_set():
            counter += 1

    def waiter():
        reader.wait_for_change(timeout=0.5)

    spinner = threading.Thread(target=spin)
    w = threading.Thread(target=waiter)
    spinner.start()
    w.start()
    w.join()
    stop.set()
    spinner.join()
    assert counter > 1000  # the spinner ran all along


def test_changes_yields_the_current_then_each_new_generation(segment, reader):
    seen = []
    got_one = threading.Semaphore(0)

    def consume():
        for cfg in reader.changes():
            seen.append(cfg.get("/n"))
            got_one.release()
            if cfg.get("/n") == 3:
                return

    t = threading.Thread(target=consume)
    t.start()
    assert got_one.acquire(timeout=10)
    segment.publish({"n": 2})
    assert got_one.acquire(timeout=10)
    segment.publish({"n": 3})
    t.join(timeout=20)
    assert not t.is_alive()
    assert seen == [1, 2, 3]


def test_on_change_calls_back_on_a_thread_and_stops(segment, reader):
    calls = []
    got = threading.Condition()

    def callback(cfg):
        with got:
            calls.append((cfg.get("/n"), threading.current_thread().name))
            got.notify_all()

    sub = reader.on_change(callback)
    try:
        with got:
            assert got.wait_for(lambda: len(calls) == 1, timeout=10)
        segment.publish({"n": 2})
        with got:
            assert got.wait_for(lambda: len(calls) == 2, timeout=10)
    finally:
        sub.stop()
    assert [n for n, _ in calls] == [1, 2]
    assert all(name.startswith("confvisor-on-change-") for _, name in calls)
    assert not sub.running
    segment.publish({"n": 3})
    time.sleep(0.3)
    assert len(calls) == 2
    sub.stop()  # idempotent


def test_on_change_stop_is_prompt(reader):
    sub = reader.on_change(lambda cfg: None)
    time.sleep(0.1)
    start = time.monotonic()
    sub.stop()
    assert time.monotonic() - start < 1.0


def test_on_change_survives_a_failing_callback(segment, reader, caplog):
    calls = []
    done = threading.Event()

    def callback(cfg):
        calls.append(cfg.generation)
        if len(calls) == 1:
            raise RuntimeError("boom")
        done.set()

    with caplog.at_level(logging.ERROR, logger="confvisor"):
        with reader.on_change(callback):
            time.sleep(0.2)
            segment.publish({"n": 2})
            assert done.wait(10)
    assert len(calls) == 2
    assert "on_change callback failed" in caplog.text and "boom" in caplog.text


def test_stop_from_inside_the_callback(segment, reader):
    done = threading.Event()
    assigned = threading.Event()
    holder = {}

    def callback(cfg):
        assigned.wait(10)
        holder["sub"].stop()
        done.set()

    holder["sub"] = sub = reader.on_change(callback)
    assigned.set()
    assert done.wait(10)
    sub._thread.join(5)
    assert not sub.running


def test_ctrl_c_interrupts_wait_for_change(segment, python_env):
    segment.publish({"n": 1})
    code = (
        "import confvisor, sys\n"
        f"r = confvisor.Reader({segment.name!r})\n"
        "r.current()\n"
        "print('waiting', flush=True)\n"
        "try:\n"
        "    r.wait_for_change()\n"
        "except KeyboardInterrupt:\n"
        "    print('interrupted', flush=True)\n"
        "    sys.exit(7)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], env=python_env, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "waiting"
        time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=5) == 7
        assert proc.stdout.read().strip() == "interrupted"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_many_threads_read_consistent_generations(segment, reader):
    # Each generation's two values agree; every thread sees generations only move forward.
    segment.publish({"n": 1, "twice": 2})
    errors = []
    stop = threading.Event()

    def read():
        last = 0
        while not stop.is_set():
            cfg = reader.current()
            if cfg.generation < last:
                errors.append(f"generation went back {last} -> {cfg.generation}")
            last = cfg.generation
            if cfg.get("/twice") != 2 * cfg.get("/n") or cfg.data["twice"] != 2 * cfg.data["n"]:
                errors.append(f"torn generation {cfg.generation}")

    threads = [threading.Thread(target=read) for _ in range(6)]
    for t in threads:
        t.start()
    try:
        for n in range(2, 22):
            segment.publish({"n": n, "twice": 2 * n})
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert errors == []
    assert reader.current().get("/n") == 21
