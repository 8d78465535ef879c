"""A Python worker as confvisord runs it: reads CONFVISOR_SEGMENT and reports a line for
each generation it sees, without ever restarting (test_supervised.py). The lines go to the
FIFO named by REPORT_FIFO (the test's own channel) and to stdout (the daemon's log)."""

import os

import confvisor

reader = confvisor.Reader()
report = open(os.environ["REPORT_FIFO"], "w", buffering=1)
for cfg in reader.changes():
    greeting = cfg.get("/greeting", "none", type=str)
    line = f"py-worker pid={os.getpid()} generation={cfg.generation} greeting={greeting}"
    report.write(line + "\n")
    print(line, flush=True)
