#!/usr/bin/env bash
# Starts a Docker engine if none answers, and waits until it does. Idempotent and safe to run
# concurrently: a lock makes the second caller wait for the first one's engine instead of racing it.
#
# CI machines and fresh developer VMs have docker.io installed but no service manager running it, so
# `make test` calls this before the image tests. The engine outlives the script (its log is in
# /var/log/honeypods-dockerd.log); stop it by the PID in /run/honeypods-dockerd.pid.
set -euo pipefail

timeout=${DOCKERD_TIMEOUT:-60}
log=/var/log/honeypods-dockerd.log
pidfile=/run/honeypods-dockerd.pid

ready() { docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

if ready; then
  exit 0
fi
if ! command -v dockerd >/dev/null; then
  echo "start-dockerd: dockerd is not installed (run scripts/install-deps.sh)" >&2
  exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "start-dockerd: no Docker engine answers and starting one needs root" >&2
  exit 1
fi

exec 9>/run/honeypods-dockerd.lock
flock 9
if ! ready; then
  # A previous engine may have died and left its socket or PID file behind.
  if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    :  # still starting up: wait below
  else
    rm -f /var/run/docker.sock /var/run/docker.pid
    # setsid: the engine must not die with the shell (or make job) that started it.
    setsid dockerd >>"$log" 2>&1 </dev/null &
    echo $! >"$pidfile"
  fi
  for _ in $(seq "$((timeout * 4))"); do
    ready && break
    if ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
      echo "start-dockerd: dockerd exited; last lines of $log:" >&2
      tail -n 20 "$log" >&2
      exit 1
    fi
    sleep 0.25
  done
fi
flock -u 9
if ! ready; then
  echo "start-dockerd: dockerd did not answer within ${timeout}s; see $log" >&2
  exit 1
fi
