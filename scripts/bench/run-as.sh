#!/usr/bin/env bash
# Run a server as an unprivileged user under a small parent that stays in
# the bench folder. PostgreSQL and MariaDB refuse to run as root, and both
# chdir into their data directory, while stop.sh recognises our servers by
# their working directory: this parent is what it sees (and TERMs), and it
# passes the stop on to the server as SIGNAL, then waits for it to exit.
# Usage (from a servers/*.sh file): launch NAME "$here/run-as.sh" USER SIGNAL CMD...
set -euo pipefail
user="$1" signal="$2"
shift 2
setpriv --reuid="$user" --regid="$user" --init-groups -- "$@" &
child=$!
trap 'kill -"$signal" "$child" 2>/dev/null || true; wait "$child" || true; exit 0' TERM INT
wait "$child"
