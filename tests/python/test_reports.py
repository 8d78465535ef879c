"""Reader.report_applied / report_rejected: no-ops outside confvisord, False (never a hang)
when the daemon cannot take the report, and under the real confvisord what status shows and
`confvisorctl reload --wait` waits for."""

import json
import os
import subprocess
import sys

import pytest
from conftest import bin_path
from test_supervised import Daemon

import confvisor


def test_outside_confvisord_a_report_is_a_no_op_that_succeeds(segment, monkeypatch):
    segment.publish({"a": 1})
    monkeypatch.delenv("CONFVISOR_ACK_SOCKET", raising=False)
    reader = confvisor.Reader(segment.name)
    cfg = reader.current()
    assert reader.report_applied(cfg) is True
    assert reader.report_rejected(cfg, "no") is True
    with pytest.raises(TypeError):
        reader.report_applied({"not": "a snapshot"})
    with pytest.raises(TypeError):
        reader.report_rejected(cfg)


def test_a_report_the_daemon_cannot_take_is_dropped_at_once(segment, monkeypatch):
    segment.publish({"a": 1})
    monkeypatch.setenv("CONFVISOR_ACK_SOCKET", f"@confvisor/{segment.name}/ack/nobody")
    reader = confvisor.Reader(segment.name)
    assert reader.report_applied(reader.current()) is False


def write_config(path, segment, python_env, app, rollout=None):
    config = {
        "confvisor": {
            **({"rollout": rollout} if rollout else {}),
            "segment": segment.name,
            "socket": os.path.join(os.path.dirname(path), "ctl.sock"),
            "workers": [
                {
                    "name": "py",
                    "command": [sys.executable, os.path.join(os.path.dirname(__file__), "reporting_worker.py")],
                    "env": {"PYTHONPATH": python_env["PYTHONPATH"]},
                    "start_window": "50ms",
                    "stop_timeout": "2s",
                    "acks": True,
                }
            ],
        },
        **app,
    }
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(json.dumps(config))
    os.rename(tmp, path)


def ctl(config, *args):
    socket = os.path.join(os.path.dirname(config), "ctl.sock")
    env = {k: v for k, v in os.environ.items() if k != "CONFVISOR_SEGMENT"}
    return subprocess.run(
        [bin_path("confvisorctl"), "--socket", socket, *args], capture_output=True, text=True, env=env, timeout=60
    )


def test_reload_wait_hears_a_python_worker_apply_and_reject(segment, tmp_path, python_env):
    config = str(tmp_path / "confvisor.json")
    write_config(config, segment, python_env, {"mode": "apply"})
    env = {k: v for k, v in os.environ.items() if k not in ("NOTIFY_SOCKET", "CONFVISOR_SEGMENT")}
    daemon = Daemon(config, env)
    try:
        import re

        daemon.wait_line(re.compile(r"worker py\[0\] \(generation (\d+)\) applied generation \1"))
        write_config(config, segment, python_env, {"mode": "apply", "n": 2})
        applied = ctl(config, "reload", "--wait")
        assert applied.returncode == 0, applied.stdout + applied.stderr
        assert "applied by 1 of 1 reporting instance(s)" in applied.stdout

        write_config(config, segment, python_env, {"mode": "reject", "reason": "python says no"})
        rejected = ctl(config, "reload", "--wait")
        assert rejected.returncode == 1, rejected.stdout + rejected.stderr
        assert re.search(r"py:0 rejected generation \d+: python says no", rejected.stderr), rejected.stderr

        status = json.loads(ctl(config, "status", "--json").stdout)
        acks = status["workers"][0]["acks"]
        assert acks["rejected"]["reason"] == "python says no"
        assert acks["applied"] == acks["rejected"]["generation"] - 1
    finally:
        daemon.stop()
    assert daemon.proc.returncode == 0


def test_a_python_workers_rejection_rolls_the_generation_back(segment, tmp_path, python_env):
    import re

    config = str(tmp_path / "confvisor.json")
    rollout = {"verify": "10s", "on_failure": "rollback"}
    write_config(config, segment, python_env, {"mode": "apply", "n": 1}, rollout)
    env = {k: v for k, v in os.environ.items() if k not in ("NOTIFY_SOCKET", "CONFVISOR_SEGMENT")}
    daemon = Daemon(config, env)
    try:
        daemon.wait_line(re.compile(r"worker py\[0\] \(generation 1\) applied generation 1"))

        # The rejection fails generation 2 in its window: generation 3 is generation 1's
        # document again, and reload --wait says so.
        write_config(config, segment, python_env, {"mode": "reject", "reason": "python says no"}, rollout)
        waited = ctl(config, "reload", "--wait")
        assert waited.returncode == 1, waited.stdout + waited.stderr
        assert "py:0 rejected generation 2: python says no" in waited.stderr, waited.stderr
        assert re.search(r"generation 2 failed its verify window: .*python says no.*; rolled back as generation 3",
                         waited.stderr), waited.stderr
        live = confvisor.Reader(segment.name).current()
        assert live.generation == 3
        assert live.get("/mode", type=str) == "apply" and live.get("/n", type=int) == 1
        daemon.wait_line(re.compile(r"worker py\[0\] \(generation 3\) applied generation 3"))

        # The same content again is refused, naming the generation that failed; changed
        # content goes through.
        refused = ctl(config, "reload")
        assert refused.returncode == 1, refused.stdout + refused.stderr
        assert "generation 2" in refused.stdout + refused.stderr
        assert confvisor.Reader(segment.name).current().generation == 3
        write_config(config, segment, python_env, {"mode": "apply", "n": 4}, rollout)
        applied = ctl(config, "reload", "--wait")
        assert applied.returncode == 0, applied.stdout + applied.stderr

        history = json.loads(ctl(config, "history", "--json").stdout)
        failed = next(g for g in history if g["generation"] == 2)
        assert failed["rollout"]["verdict"] == "failed"
        assert failed["rollout"]["rolled_back_as"] == 3
    finally:
        daemon.stop()
    assert daemon.proc.returncode == 0
