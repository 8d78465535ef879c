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


class Daemon:
    def __init__(self, config_path, env):
        self.proc = subprocess.Popen(
            [bin_path("confvisord"), "--config", config_path, "--log-level", "info"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=env,
            text=True,
        )
        self.log = []
        self._sel = selectors.DefaultSelector()
        self._sel.register(self.proc.stderr, selectors.EVENT_READ)

    def wait_line(self, pattern, timeout=20):
        """The first new log line that matches `pattern` (a compiled regex)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self._sel.select(timeout=max(0, deadline - time.monotonic())):
                continue
            line = self.proc.stderr.readline()
            if not line:
                break
            self.log.append(line)
            m = pattern.search(line)
            if m:
                return m
        pytest.fail(f"no log line matching {pattern.pattern!r}; log:\n" + "".join(self.log))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._sel.close()
        self.proc.stderr.close()


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
                    "env": {"PYTHONPATH": python_env["PYTHONPATH"]},
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
    daemon = Daemon(config, env)
    try:
        m = daemon.wait_line(re.compile(r"py\[0\].*" + LINE.pattern))
        pid, first = int(m.group(1)), int(m.group(2))
        assert m.group(3) == "hello"

        write_config(config, segment, python_env, "bonjour")
        daemon.proc.send_signal(signal.SIGHUP)
        m = daemon.wait_line(LINE)
        assert (int(m.group(1)), int(m.group(2)), m.group(3)) == (pid, first + 1, "bonjour")

        # A bad config changes nothing: the worker sees no generation until a good one.
        with open(config, "w") as f:
            f.write('{"confvisor": {"segment": "%s",\n  "greeting": }' % segment.name)
        daemon.proc.send_signal(signal.SIGHUP)
        daemon.wait_line(re.compile(re.escape(config) + r":2:\d+"))
        write_config(config, segment, python_env, "hola")
        daemon.proc.send_signal(signal.SIGHUP)
        m = daemon.wait_line(LINE)
        assert (int(m.group(1)), int(m.group(2)), m.group(3)) == (pid, first + 2, "hola")
        os.kill(pid, 0)  # still the same process
    finally:
        daemon.stop()
    assert daemon.proc.returncode == 0
