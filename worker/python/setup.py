"""Builds confvisor._native for pip (see pyproject.toml).

The extension is compiled together with libconfvisor's own sources, the same files the CMake
build makes libconfvisor.a from: their list is read from worker/CMakeLists.txt
(confvisor_objects) and common/CMakeLists.txt (confvisor_segment), so there is one list.
"""

import os
import re

from setuptools import Extension, setup

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def object_library_sources(cmake_dir: str, target: str) -> list[str]:
    path = os.path.join(ROOT, cmake_dir, "CMakeLists.txt")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    match = re.search(r"add_library\(\s*" + target + r"\s+OBJECT\s+([^)]*)\)", text)
    if match is None:
        raise RuntimeError(f"{path}: no add_library({target} OBJECT ...) to take sources from")
    # Absolute paths: setuptools then puts each object under build/ instead of beside it.
    return [os.path.join(ROOT, cmake_dir, name) for name in match.group(1).split()]


native_sources = sorted(
    os.path.join(HERE, "src", name) for name in os.listdir(os.path.join(HERE, "src")) if name.endswith(".cc")
)

native = Extension(
    "confvisor._native",
    sources=native_sources
    + object_library_sources("worker", "confvisor_objects")
    + object_library_sources("common", "confvisor_segment"),
    include_dirs=[os.path.join(ROOT, "worker", "include"), os.path.join(ROOT, "worker"), os.path.join(ROOT, "common")],
    libraries=["boost_json", "rt"],
    language="c++",
    extra_compile_args=["-std=c++20", "-O2", "-fvisibility=hidden", "-Wno-missing-field-initializers"],
    extra_link_args=["-Wl,--version-script=" + os.path.join(HERE, "native.map")],
)

setup(ext_modules=[native])
