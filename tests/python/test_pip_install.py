"""The package installs with pip from the source tree into a virtualenv, without a package
index: `pip install --no-build-isolation` with Debian's setuptools (the README's steps)."""

import os
import shutil
import subprocess
import sys

SOURCE = os.path.join(os.path.dirname(__file__), "..", "..", "worker", "python")


def test_pip_install_into_a_venv_and_read(segment, tmp_path):
    segment.publish({"database": {"port": 6543}})
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["CONFVISOR_PYTHON_BUILD_DIR"] = str(tmp_path / "setuptools-build")
    if shutil.which("ccache"):
        env["CC"] = "ccache gcc"
    pip = subprocess.run(
        [str(venv / "bin" / "pip"), "install", "--no-index", "--no-build-isolation", os.path.abspath(SOURCE)],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert pip.returncode == 0, pip.stdout[-3000:] + pip.stderr[-3000:]
    probe = (
        "import confvisor, os, sys\n"
        "print(os.path.dirname(confvisor.__file__))\n"
        f"print(confvisor.Reader({segment.name!r}).current().get('/database/port'))\n"
    )
    run = subprocess.run([str(venv / "bin" / "python"), "-c", probe], env=env, capture_output=True, text=True,
                         cwd=str(tmp_path), timeout=60)
    assert run.returncode == 0, run.stderr
    where, port = run.stdout.split()
    assert where.startswith(str(venv)), where
    assert port == "6543"
    installed = os.listdir(where)
    assert "py.typed" in installed and "_native.pyi" in installed
