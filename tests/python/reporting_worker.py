"""A Python worker with "acks": true as confvisord runs it (test_reports.py): for each
generation, /mode "reject" reports it rejected with the reason /reason, anything else
reports it applied; it prints what the call returned."""

import confvisor

reader = confvisor.Reader()
for cfg in reader.changes():
    if cfg.get("/mode", "apply", type=str) == "reject":
        ok = reader.report_rejected(cfg, cfg.get("/reason", "no reason", type=str))
    else:
        ok = reader.report_applied(cfg)
    print(f"generation {cfg.generation}: reported {ok}", flush=True)
