"""A Reader made before os.fork() (a pre-forking server with preload_app) works in every
child: it reads, sees later publishes, waits, and subscribes; the parent's subscription
thread does not hang the child."""

import os
import select
import subprocess
import threading
import time

import confvisor
from conftest import bin_path

CHILD_OK = 0
CHILD_FAIL = 1


def run_in_child(body):
    """Forks; the child runs body() and exits 0 if it returns True. Returns the pid."""
    pid = os.fork()
    if pid == 0:
        code = CHILD_FAIL
        try:
            code = CHILD_OK if body() else CHILD_FAIL
        except BaseException as e:  # report anything, never return into pytest
            os.write(2, f"child failed: {e!r}\n".encode())
        finally:
            os._exit(code)
    return pid


def wait_for_bytes(fd, count, timeout=30):
    """Reads until `count` bytes came, every writer closed `fd` (a child died first) or
    `timeout` seconds passed (a child hangs); the children's exit codes then tell the test."""
    deadline = time.monotonic() + timeout
    got = 0
    while got < count:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            return
        chunk = os.read(fd, count - got)
        if not chunk:
            return
        got += len(chunk)


def exit_code(pid, timeout=30):
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            return "timeout"
        time.sleep(0.02)


def test_children_read_and_follow_publishes(segment):
    segment.publish({"n": 1})
    reader = confvisor.Reader(segment.name)
    before = reader.current()
    r, w = os.pipe()
    # Each child says here that it has read: only then is n=2 published, so every child's
    # first read is of n=1 however late the scheduler runs it.
    ready_r, ready_w = os.pipe()

    def child():
        os.close(w)
        os.close(ready_r)
        cfg = reader.current()
        ok = cfg.get("/n") == 1 and cfg.generation == before.generation
        os.write(ready_w, b"r")
        os.read(r, 1)  # the parent has published n=2
        ok = ok and reader.wait_for_change(timeout=10, since=before.generation)
        return ok and reader.current().get("/n") == 2 and before.get("/n") == 1

    pids = [run_in_child(child) for _ in range(4)]
    os.close(r)
    os.close(ready_w)
    wait_for_bytes(ready_r, len(pids))
    os.close(ready_r)
    segment.publish({"n": 2})
    os.write(w, b"x" * 4)
    os.close(w)
    assert [exit_code(p) for p in pids] == [CHILD_OK] * 4
    assert reader.current().get("/n") == 2


def test_a_child_of_a_busy_parent_does_not_hang(segment, tmp_path):
    # Threads of the parent use the reader all the time (current() takes the reader's lock
    # when a generation changes; a subscription runs a thread of the library): a fork can
    # happen while one of them holds it. Children must neither deadlock nor lose updates.
    segment.publish({"n": 1})
    reader = confvisor.Reader(segment.name)
    stop = threading.Event()
    calls = []
    sub = reader.on_change(lambda cfg: calls.append(cfg.generation))

    def busy():
        while not stop.is_set():
            reader.current()

    # Publishes from a process of its own: a thread of this one spawning confvisorctl would
    # wait for the end of its exec-error pipe, which the children inherit.
    publisher = subprocess.Popen(
        [
            "sh",
            "-c",
            'n=2; while :; do printf \'{"n": %d}\' $n > "$1.tmp" && mv "$1.tmp" "$1" && '
            '"$2" publish "$1" --segment "$3" > /dev/null || exit 1; n=$((n+1)); done',
            "publisher",
            str(tmp_path / "doc.json"),
            bin_path("confvisorctl"),
            segment.name,
        ]
    )
    threads = [threading.Thread(target=busy) for _ in range(2)]
    for t in threads:
        t.start()

    def child():
        cfg = reader.current()
        assert cfg.get("/n") >= 1
        sub.stop()  # the parent's subscription: its thread is not here
        assert not sub.running
        got = threading.Event()
        with reader.on_change(lambda c: got.set()):
            assert got.wait(10)
        return reader.wait_for_change(timeout=10)

    try:
        pids = []
        for _ in range(8):
            pids.append(run_in_child(child))
            time.sleep(0.02)
        codes = [exit_code(p) for p in pids]
    finally:
        stop.set()
        for t in threads:
            t.join()
        sub.stop()
        publisher.kill()
        publisher.wait()
    assert codes == [CHILD_OK] * 8
    assert calls
