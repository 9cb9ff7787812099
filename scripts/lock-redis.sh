#!/usr/bin/env bash
# The Redis of `make run`'s lock store (bot/locks.py), in the foreground until stopped: on a Unix
# socket that only this user can open (no network port), nothing written to disk (the locks live
# milliseconds). Usage: scripts/lock-redis.sh [socket, default var/redis/locks.sock]
set -euo pipefail
socket=$(realpath -m "${1:-var/redis/locks.sock}")
folder=$(dirname "$socket")
mkdir -p "$folder"
chmod 700 "$folder"
exec redis-server --port 0 --unixsocket "$socket" --unixsocketperm 700 --dir "$folder" \
  --save "" --appendonly no --maxmemory 64mb --logfile "$folder/redis.log"
