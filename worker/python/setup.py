"""Builds confvisor._native for pip (see pyproject.toml).

The extension is compiled together with libconfvisor's own sources, the same files the CMake
build makes libconfvisor.a from: their list is read from worker/CMakeLists.txt
(confvisor_objects) and common/CMakeLists.txt (confvisor_base, confvisor_segment), so there
is one list.
"""

import os
import re

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def object_library_sources(cmake_dir: str, target: str) -> list[str]:
    """The sources of TARGET, an add_library(TARGET OBJECT ...) or a
    confvisor_common_part(TARGET ...) in CMAKE_DIR/CMakeLists.txt."""
    path = os.path.join(ROOT, cmake_dir, "CMakeLists.txt")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    match = re.search(
        r"(?:add_library\(\s*" + target + r"\s+OBJECT|confvisor_common_part\(\s*" + target + r")\s+([^)]*)\)",
        text,
    )
    if match is None:
        raise RuntimeError(f"{path}: no OBJECT library {target} to take sources from")
    # Relative to this directory, as setuptools requires (BuildExt places their objects).
    return [os.path.relpath(os.path.join(ROOT, cmake_dir, name), HERE) for name in match.group(1).split()]


class BuildExt(build_ext):
    """Puts the objects of sources outside this directory (../../common/x.cc) under the
    build directory too: setuptools would join build_temp and ../../common/x.o."""

    def build_extensions(self):
        object_filenames = self.compiler.object_filenames

        def inside_build_temp(sources, strip_dir=0, output_dir=""):
            return object_filenames([s.replace("../", "up/") for s in sources], strip_dir, output_dir)

        self.compiler.object_filenames = inside_build_temp
        super().build_extensions()


native_sources = sorted(
    os.path.join("src", name) for name in os.listdir(os.path.join(HERE, "src")) if name.endswith(".cc")
)

native = Extension(
    "confvisor._native",
    sources=native_sources
    + object_library_sources("worker", "confvisor_objects")
    + object_library_sources("common", "confvisor_base")
    + object_library_sources("common", "confvisor_segment")
    + object_library_sources("common", "confvisor_ack"),
    include_dirs=[ROOT] + [os.path.join(ROOT, d) for d in ("worker/include", "common/include")],
    libraries=["boost_json", "rt"],
    language="c++",
    extra_compile_args=["-std=c++20", "-O2", "-fvisibility=hidden", "-Wno-missing-field-initializers"],
    extra_link_args=["-Wl,--version-script=" + os.path.join(HERE, "native.map"), "-Wl,--exclude-libs,ALL"],
)

# Where setuptools builds (default: build/ and confvisor.egg-info beside this file, which
# .gitignore lists); CONFVISOR_PYTHON_BUILD_DIR moves both out of the source tree.
build_dir = os.environ.get("CONFVISOR_PYTHON_BUILD_DIR")
options = {}
if build_dir:
    os.makedirs(build_dir, exist_ok=True)
    options = {"build": {"build_base": build_dir}, "egg_info": {"egg_base": build_dir}}

setup(ext_modules=[native], cmdclass={"build_ext": BuildExt}, options=options)
