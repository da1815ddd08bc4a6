#!/usr/bin/env bash
# Three `lockstep serve` instances on the embedded peer backend (the three are the Raft voters),
# on loopback, with nginx in front of them, round-robin (deploy/nginx/nginx.conf); prints the URL
# and runs until Ctrl-C, which stops everything and removes the throwaway folder.
#
#   deploy/nginx/run-local.sh            nginx on 127.0.0.1:8080, instances on 8081-8083
#   PORT=9090 deploy/nginx/run-local.sh  nginx on 9090, instances on 9091-9093
#
# Ports: PORT (nginx; default 8080), instance i on PORT+i, its Raft endpoint on PEER_PORT+i
# (PEER_PORT default 7800). Needs nginx (scripts/setup installs it; NGINX_BIN overrides) and the
# jar, which bin/lockstep builds when missing. Logs stay in the folder printed until Ctrl-C.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
PORT="${PORT:-8080}"
PEER_PORT="${PEER_PORT:-7800}"

NGINX="${NGINX_BIN:-$(command -v nginx || echo /usr/sbin/nginx)}"
if [ ! -x "$NGINX" ]; then
  echo "run-local: nginx not found; run scripts/setup (Debian's nginx) or set NGINX_BIN" >&2
  exit 1
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/lockstep-nginx-local.XXXXXX")"
chmod 711 "$work" # nginx workers run as another user when started by root
mkdir -p "$work/temp"
pids=()
cleanup() {
  trap - INT TERM EXIT
  echo "run-local: stopping" >&2
  for p in "${pids[@]}"; do
    kill "$p" 2>/dev/null || true
  done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM
trap cleanup EXIT

voters="127.0.0.1:$((PEER_PORT + 1)),127.0.0.1:$((PEER_PORT + 2)),127.0.0.1:$((PEER_PORT + 3))"
"$ROOT/bin/lockstep" --version >/dev/null # builds the jar first when it is missing or stale
for i in 1 2 3; do
  LOCKSTEP_NO_BUILD=1 "$ROOT/bin/lockstep" serve \
    --port $((PORT + i)) \
    --instance-id "node-$i" \
    --backend "peer://$voters?bind=127.0.0.1:$((PEER_PORT + i))&data=$work/node-$i" \
    >"$work/node-$i.log" 2>&1 &
  pids+=($!)
done
for i in 1 2 3; do
  for _ in $(seq 1 120); do
    if curl -fsS "http://127.0.0.1:$((PORT + i))/health/ready" >/dev/null 2>&1; then
      continue 2
    fi
    sleep 0.5
  done
  echo "run-local: node-$i not ready within 60 s; its log:" >&2
  tail -n 30 "$work/node-$i.log" >&2
  exit 1
done

sed -e "s/@LISTEN@/127.0.0.1:$PORT/" \
  -e "s/@UPSTREAM_1@/127.0.0.1:$((PORT + 1))/" \
  -e "s/@UPSTREAM_2@/127.0.0.1:$((PORT + 2))/" \
  -e "s/@UPSTREAM_3@/127.0.0.1:$((PORT + 3))/" \
  "$ROOT/deploy/nginx/nginx.conf" >"$work/nginx.conf"
"$NGINX" -p "$work/" -c "$work/nginx.conf" -e stderr >"$work/nginx.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 40); do
  if curl -fsS "http://127.0.0.1:$PORT/health/live" >/dev/null 2>&1; then
    echo "Lockstep behind nginx: http://127.0.0.1:$PORT  (instances on $((PORT + 1))-$((PORT + 3)); logs in $work; Ctrl-C stops)"
    echo "  curl -i http://127.0.0.1:$PORT/stats     # X-Lockstep-Instance names the instance that answered"
    echo "  curl -s http://127.0.0.1:$PORT/data/42   # the loading group: the same date_created from every instance"
    echo "  curl -s -X DELETE http://127.0.0.1:$PORT/data/42   # forgotten everywhere; the next get loads again"
    wait -n "${pids[@]}" || true
    echo "run-local: a process exited; see the logs in $work" >&2
    tail -n 5 "$work"/*.log >&2 || true
    exit 1
  fi
  sleep 0.25
done
echo "run-local: nginx did not answer; its log:" >&2
tail -n 30 "$work/nginx.log" >&2
exit 1
