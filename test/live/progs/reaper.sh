#!/bin/sh
# Starts a test target as this shell's child and reaps every child until the target is gone,
# like an init process would (snapshot copies are siblings of the target: its parent reaps them).
# Usage: reaper.sh OUT PIDFILE PROGRAM [ARGS...]
out=$1
pidfile=$2
shift 2
"$@" </dev/null >"$out" 2>&1 &
echo $! >"$pidfile.tmp"
mv "$pidfile.tmp" "$pidfile"
wait
