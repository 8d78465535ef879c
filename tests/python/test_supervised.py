"""A Python worker supervised by the real confvisord sees a reload without restarting."""

import json
import os
import re
import selectors
import signal
import subprocess
import sys
import time

import pytest
from conftest import bin_path

LINE = re.compile(r"py-worker pid=(\d+) generation=(\d+) greeting=(\S+)")


class Lines:
    """Lines from a non-blocking fd, read with os.read: a buffered file object would keep
    lines that select() then no longer reports."""

    def __init__(self, fd):
        self.fd = fd
        self._sel = selectors.DefaultSelector()
        self._sel.register(fd, selectors.EVENT_READ)
        self._buffer = b""
        self.seen = []

    def next(self, timeout):
        """The next line, or None after `timeout` seconds or at the end."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not self._sel.select(timeout=left):
                return None
            chunk = os.read(self.fd, 65536)
            if not chunk:
                return None
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        self.seen.append(line.decode(errors="replace"))
        return self.seen[-1]

    def close(self):
        self._sel.close()
        os.close(self.fd)


class Daemon:
    def __init__(self, config_path, env):
        self.proc = subprocess.Popen(
            [bin_path("confvisord"), "--config", config_path, "--log-level", "info"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=env,
        )
        self.log = Lines(os.dup(self.proc.stderr.fileno()))
        self.proc.stderr.close()

    def wait_line(self, pattern, timeout=20):
        """The first new log line that matches `pattern` (a compiled regex)."""
        deadline = time.monotonic() + timeout
        while (line := self.log.next(max(0, deadline - time.monotonic()))) is not None:
            if m := pattern.search(line):
                return m
        pytest.fail(f"no log line matching {pattern.pattern!r}; log:\n" + "\n".join(self.log.seen))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def fifo_path(config_path):
    return os.path.join(os.path.dirname(config_path), "report.fifo")


class Reports:
    """The worker's own account of what it saw, from the FIFO it writes a line to per
    generation, apart from the daemon's log."""

    def __init__(self, path):
        os.mkfifo(path)
        # Non-blocking, so the open does not wait for the worker; the worker's open then
        # finds a reader and does not wait either.
        self._lines = Lines(os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC))

    def next(self, timeout=20):
        deadline = time.monotonic() + timeout
        while True:
            line = self._lines.next(max(0, deadline - time.monotonic()))
            if line is not None:
                m = LINE.search(line)
                assert m, line
                return int(m.group(1)), int(m.group(2)), m.group(3)
            if time.monotonic() >= deadline:
                pytest.fail(f"the worker reported nothing in {timeout} s")
            time.sleep(0.01)  # no writer yet (the worker is starting): the FIFO reads as ended

    def close(self):
        self._lines.close()


def write_config(path, segment, python_env, greeting):
    config = {
        "confvisor": {
            "segment": segment.name,
            "segment_size": "64KiB",
            "socket": os.path.join(os.path.dirname(path), "ctl.sock"),
            "workers": [
                {
                    "name": "py",
                    "command": [sys.executable, os.path.join(os.path.dirname(__file__), "supervised_worker.py")],
                    "on_reload": "none",
                    "env": {"PYTHONPATH": python_env["PYTHONPATH"], "REPORT_FIFO": fifo_path(path)},
                    "stop_timeout": "2s",
                }
            ],
        },
        "greeting": greeting,
    }
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(json.dumps(config, indent=2))
    os.rename(tmp, path)


def test_a_supervised_python_worker_follows_reloads_without_restarting(segment, tmp_path, python_env):
    config = str(tmp_path / "confvisor.json")
    write_config(config, segment, python_env, "hello")
    env = {k: v for k, v in os.environ.items() if k not in ("NOTIFY_SOCKET", "CONFVISOR_SEGMENT")}
    reports = Reports(fifo_path(config))
    daemon = Daemon(config, env)
    try:
        pid, first, greeting = reports.next()
        assert greeting == "hello"
        daemon.wait_line(re.compile(r"worker py\[0\] \(generation \d+\) started: pid %d" % pid))
        daemon.wait_line(re.compile(r"py\[0\]: py-worker pid=%d generation=%d greeting=hello" % (pid, first)))

        write_config(config, segment, python_env, "bonjour")
        daemon.proc.send_signal(signal.SIGHUP)
        assert reports.next() == (pid, first + 1, "bonjour")

        # A bad config changes nothing: the worker sees no generation until a good one.
        with open(config, "w") as f:
            f.write('{"confvisor": {"segment": "%s",\n  "greeting": }' % segment.name)
        daemon.proc.send_signal(signal.SIGHUP)
        daemon.wait_line(re.compile(re.escape(config) + r":2:\d+"))
        write_config(config, segment, python_env, "hola")
        daemon.proc.send_signal(signal.SIGHUP)
        assert reports.next() == (pid, first + 2, "hola")
        daemon.wait_line(re.compile(r"py\[0\]: py-worker pid=%d generation=%d greeting=hola" % (pid, first + 2)))
        os.kill(pid, 0)  # still the same process
    finally:
        daemon.stop()
        reports.close()
    assert daemon.proc.returncode == 0
