"""A Python worker as confvisord runs it: reads CONFVISOR_SEGMENT and prints a line for
each generation it sees, without ever restarting (test_supervised.py)."""

import os

import confvisor

reader = confvisor.Reader()
for cfg in reader.changes():
    greeting = cfg.get("/greeting", "none", type=str)
    print(f"py-worker pid={os.getpid()} generation={cfg.generation} greeting={greeting}", flush=True)
