"""Fixtures for the confvisor package's tests: segments published by the real
confvisorctl, with unique names, removed pass or fail.

ctest (tests/CMakeLists.txt) sets CONFVISOR_BIN_DIR to build/bin and PYTHONPATH to the build
tree's package.
"""

import glob
import json
import os
import subprocess
import sys
import tempfile
import uuid

import pytest

BIN_DIR = os.environ.get("CONFVISOR_BIN_DIR", os.path.join(os.path.dirname(__file__), "../../build/bin"))


def bin_path(name: str) -> str:
    return os.path.join(BIN_DIR, name)


def remove_segment(name: str) -> None:
    for path in glob.glob(f"/dev/shm/confvisor.{name}") + glob.glob(f"/dev/shm/confvisor.{name}.*"):
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass


class Segment:
    """A segment of this test's own, published with `confvisorctl publish`."""

    def __init__(self, name: str, directory: str) -> None:
        self.name = name
        self.path = f"/dev/shm/confvisor.{name}"
        self._dir = directory
        self._count = 0

    def publish(self, document) -> str:
        """Publishes `document` (a dict, or JSON text) as a new generation; returns the file."""
        self._count += 1
        path = os.path.join(self._dir, f"{self.name}-{self._count}.json")
        with open(path, "w", encoding="utf-8") as f:
            f.write(document if isinstance(document, str) else json.dumps(document))
        # Its output goes to a file, not a pipe: a test that forks while a publish runs
        # would hold the pipe's write end in the child, and the publish would wait for it.
        with tempfile.TemporaryFile(mode="w+") as err:
            result = subprocess.run(
                [bin_path("confvisorctl"), "publish", path, "--segment", self.name],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=err,
                timeout=30,
            )
            err.seek(0)
            assert result.returncode == 0, f"confvisorctl publish failed: {err.read()}"
        return path


@pytest.fixture
def segment(tmp_path):
    name = f"pytest-{os.getpid()}-{uuid.uuid4().hex[:12]}"
    seg = Segment(name, str(tmp_path))
    try:
        yield seg
    finally:
        remove_segment(name)


@pytest.fixture
def python_env():
    """The environment a child Python needs to import the package under test."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    return env
