#!/usr/bin/env python3
"""The Python reader against the ways a Python service reads its config without it.

For configs of 1 KiB, 64 KiB and 1 MiB (the shape confvisor-bench uses: a database block
and an array of service objects), in one run:

  current()        reader.current() while nothing changed (the same Snapshot object back)
  current().get()  reader.current().get(deep pointer): an integer inside the last service
  seed mmap        the seed's jsonread_follower(): find the "len:" prefix at offset 0 of an
                   mmap, slice the JSON text, json.loads() it, on every read
  json.load file   open() the config file and json.load() it, on every read

Run from the repository root after a build (build/bin/confvisorctl publishes the segment):

  PYTHONPATH=build/python /usr/bin/python3 bench/python_bench.py [--quick] [--json FILE]

Prints ns per read (the median of 5 timed batches) and the speed-ups; exits 1 if the goal
(current() unchanged at least 1000x faster than the seed's read at 64 KiB) is missed, unless
--quick (the smoke run under ctest, which only checks that every figure is produced).
"""

import argparse
import json
import mmap
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

import confvisor

SIZES = [("1KiB", 1024), ("64KiB", 64 * 1024), ("1MiB", 1024 * 1024)]
GOAL = 1000.0


def generate_config(target: int) -> tuple[str, str, int]:
    """Minified JSON of exactly `target` bytes, a pointer to an integer deep in it, its value."""
    doc = {
        "confvisor": {"segment": "bench", "workers": []},
        "database": {"host": "db1.internal", "port": 5432, "pool": {"min": 2, "max": 16}},
        "services": [],
        "pad": "",
    }

    def service(i: int) -> dict:
        return {
            "name": f"service-{i:05d}",
            "enabled": i % 3 != 0,
            "endpoints": [f"http://10.0.{i % 250}.{j}:8080/api" for j in range(3)],
            "limits": {"rps": 1000 + i, "burst": 50, "timeouts": {"connect_ms": 250, "read_ms": 1000 + i}},
            "tags": ["blue", "green"] if i % 2 else ["red"],
        }

    def text() -> str:
        return json.dumps(doc, separators=(",", ":"))

    def size_of(value) -> int:
        return len(json.dumps(value, separators=(",", ":")))

    # Counted service by service (each adds its text and a comma): re-serializing the whole
    # document per service would take minutes at 1 MiB.
    size = len(text())
    while True:
        s = service(len(doc["services"]))
        grown = size + size_of(s) + (1 if doc["services"] else 0)
        if grown > target and doc["services"]:
            break
        doc["services"].append(s)
        size = grown
    doc["pad"] = "x" * max(0, target - len(text()))
    last = len(doc["services"]) - 1
    pointer = f"/services/{last}/limits/timeouts/read_ms"
    return text(), pointer, 1000 + last


def time_per_call(fn, calls: int, batches: int = 5) -> float:
    """Median ns per call over `batches` batches of `calls` calls."""
    results = []
    for _ in range(batches):
        start = time.perf_counter_ns()
        for _ in range(calls):
            fn()
        results.append((time.perf_counter_ns() - start) / calls)
    return statistics.median(results)


def calls_for(ns_estimate: float, budget_ns: float) -> int:
    return max(3, int(budget_ns / max(ns_estimate, 1.0)))


def seed_reader(path: str):
    """jsonread_follower(): the seed's per-read parse of "len:json" at offset 0 of an mmap."""
    f = open(path, "rb")
    mm = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)

    def read():
        head = mm[:24]
        colon = head.index(b":")
        n = int(head[:colon])
        return json.loads(mm[colon + 1 : colon + 1 + n])

    return read, lambda: (mm.close(), f.close())


def bench_size(label: str, size: int, workdir: str, budget_ns: float) -> dict:
    text, pointer, expected = generate_config(size)
    segment = f"pybench-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    config_path = os.path.join(workdir, f"{label}.json")
    with open(config_path, "w") as f:
        f.write(text)
    seed_path = os.path.join(workdir, f"{label}.mmap")
    data = text.encode()
    with open(seed_path, "wb") as f:
        f.write(f"{len(data)}:".encode() + data + b"\0" * 64)
    confvisorctl = os.path.join(os.environ.get("CONFVISOR_BIN_DIR", "build/bin"), "confvisorctl")
    subprocess.run([confvisorctl, "publish", config_path, "--segment", segment], check=True,
                   stdout=subprocess.DEVNULL)
    try:
        reader = confvisor.Reader(segment)
        cfg = reader.current()
        assert cfg.get(pointer) == expected
        seed_read, seed_close = seed_reader(seed_path)
        assert seed_read()["services"][-1]["limits"]["timeouts"]["read_ms"] == expected

        def file_read():
            with open(config_path) as f:
                return json.load(f)

        current = reader.current
        row = {"bytes": len(text)}
        row["current_ns"] = time_per_call(current, calls_for(50, budget_ns))
        row["get_ns"] = time_per_call(lambda: current().get(pointer), calls_for(200, budget_ns))
        est = max(1000.0, len(text) * 10.0)  # json.loads runs at some 100 MB/s
        row["seed_ns"] = time_per_call(seed_read, calls_for(est, budget_ns))
        row["file_ns"] = time_per_call(file_read, calls_for(est, budget_ns))
        seed_close()
        return row
    finally:
        for suffix in ("", ".prev"):
            try:
                os.unlink(f"/dev/shm/confvisor.{segment}{suffix}")
            except FileNotFoundError:
                pass


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="short batches; check only that it runs")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    budget_ns = 2e6 if args.quick else 2e8  # per batch

    rows = {}
    with tempfile.TemporaryDirectory(prefix="confvisor-pybench-") as workdir:
        for label, size in SIZES:
            rows[label] = bench_size(label, size, workdir, budget_ns)

    print(f"python {sys.version.split()[0]} ({sys.executable}), confvisor from {os.path.dirname(confvisor.__file__)}")
    print(f"{'size':>6} {'current()':>11} {'.get(deep)':>11} {'seed mmap':>12} {'json.load':>12} "
          f"{'seed/current':>13} {'seed/get':>9}")
    for label, r in rows.items():
        print(f"{label:>6} {r['current_ns']:9.0f}ns {r['get_ns']:9.0f}ns {r['seed_ns']:10.0f}ns "
              f"{r['file_ns']:10.0f}ns {r['seed_ns'] / r['current_ns']:12.0f}x "
              f"{r['seed_ns'] / r['get_ns']:8.0f}x")
    ratio = rows["64KiB"]["seed_ns"] / rows["64KiB"]["current_ns"]
    met = ratio >= GOAL
    print(f"goal: current() unchanged >= {GOAL:.0f}x faster than the seed's read at 64 KiB: "
          f"{ratio:.0f}x, {'met' if met else 'MISSED'}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"python": sys.version.split()[0], "sizes": rows, "goal_ratio_64KiB": ratio}, f, indent=2)
    return 0 if met or args.quick else 1


if __name__ == "__main__":
    sys.exit(main())
