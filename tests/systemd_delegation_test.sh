#!/usr/bin/env bash
# Under systemd nothing of the workers may survive the daemon: each shipped unit delegates its
# cgroup (Delegate=yes, so the daemon can put each worker instance in a cgroup of its own and
# end it with cgroup.kill), keeps it writable (no ProtectControlGroups=yes), and has systemd
# SIGKILL whatever is left in it when the daemon's main process is gone (KillMode=mixed or
# control-group; never process or none, which leave the rest running).
# usage: systemd_delegation_test.sh UNIT_DIR
set -euo pipefail
status=0
for unit in "$1"/*.service; do
  name=$(basename "$unit")
  value() { sed -n "s/^$1=//p" "$unit" | tail -n 1; }
  [[ $(value Delegate) == yes ]] || { echo "$name: Delegate=yes is missing"; status=1; }
  case $(value KillMode) in
    mixed | control-group) ;;
    *) echo "$name: KillMode=$(value KillMode) lets workers outlive the daemon"; status=1 ;;
  esac
  [[ $(value ProtectControlGroups) != yes ]] || {
    echo "$name: ProtectControlGroups=yes makes the delegated cgroup read-only"
    status=1
  }
done
[[ $status == 0 ]] && echo "systemd delegation: ok"
exit $status
