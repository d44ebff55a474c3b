#!/usr/bin/env bash
# Host a class without Docker: N replicas of `streamlit run app.py` on consecutive loopback ports, and
# Debian's HAProxy (apt-get install haproxy) in front of them with deploy/haproxy.cfg.
#
#   deploy/run_replicas.sh [N]        N replicas (default: $REPLICAS, else one per core); Ctrl-C stops all
#
# Settings (environment, or deploy/.env: the same file the Docker recipe reads):
#   STREAMLIT_SERVER_COOKIE_SECRET  one secret shared by every replica (default: a new one for this run)
#   PORT=8500          where students connect (HAProxy)     BIND_ADDRESS=0.0.0.0   HAProxy's address
#   FIRST_PORT=8501    replicas on 127.0.0.1:FIRST_PORT, FIRST_PORT+1, ... (only HAProxy reaches them)
#   STATS_PORT=8404    HAProxy's statistics page on 127.0.0.1 (0: none)
#   PYTHON             the Python with requirements.txt installed (default: .venv/bin/python, else python3)
#   HAPROXY            the HAProxy binary (default: /usr/sbin/haproxy, else haproxy on PATH)
#   REDIS=1            also start Debian's redis-server (apt-get install redis-server) on 127.0.0.1:REDIS_PORT
#                      (default 6379), nothing saved to disk, and share rooms through it: a room code then works
#                      on every replica. ADJOINT_REDIS_URL instead: the replicas use that Redis (started elsewhere).
#
# A replica that exits is started again after 2 s (its sessions are gone; their tabs reconnect through
# HAProxy to a live replica). The replicas' output goes to the terminal, prefixed with their name.
set -euo pipefail

DEPLOY="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$DEPLOY")"
cd "$ROOT"   # streamlit runs app.py from here, with .streamlit/config.toml
# deploy/.env: KEY=VALUE lines, as Docker Compose reads them; a variable already set in the environment wins.
if [ -f "$DEPLOY/.env" ]; then
    while IFS= read -r line || [ -n "$line" ]; do
        line="${line%$'\r'}"
        case "$line" in '' | '#'*) continue ;; esac
        key="${line%%=*}"
        value="${line#*=}"
        [[ "$key" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || continue
        if [[ "$value" =~ ^\"(.*)\"$ || "$value" =~ ^\'(.*)\'$ ]]; then value="${BASH_REMATCH[1]}"; fi
        if [ -z "${!key+set}" ]; then export "$key=$value"; fi
    done < "$DEPLOY/.env"
fi

N="${1:-${REPLICAS:-$(nproc 2>/dev/null || echo 2)}}"
if ! [[ "$N" =~ ^[1-8]$ ]]; then
    echo "usage: $0 [N]   (1 to 8 replicas; deploy/haproxy.cfg has 8 server slots)" >&2
    exit 2
fi
PORT="${PORT:-8500}"
BIND_ADDRESS="${BIND_ADDRESS:-0.0.0.0}"
FIRST_PORT="${FIRST_PORT:-8501}"
STATS_PORT="${STATS_PORT:-8404}"
if [ -z "${PYTHON:-}" ]; then
    if [ -x "$ROOT/.venv/bin/python" ]; then PYTHON="$ROOT/.venv/bin/python"; else PYTHON="python3"; fi
fi
if [ -z "${HAPROXY:-}" ]; then
    if [ -x /usr/sbin/haproxy ]; then HAPROXY=/usr/sbin/haproxy; else HAPROXY="$(command -v haproxy || true)"; fi
fi
if [ -z "$HAPROXY" ]; then
    echo "haproxy not found: apt-get install -y haproxy (or set HAPROXY)" >&2
    exit 1
fi
if [ "${STREAMLIT_SERVER_COOKIE_SECRET:-}" = "replace-with-a-long-random-secret" ]; then
    echo "deploy/.env still has the example cookie secret: put a long random one there" >&2
    exit 2
fi
if [ -z "${STREAMLIT_SERVER_COOKIE_SECRET:-}" ]; then
    STREAMLIT_SERVER_COOKIE_SECRET="$("$PYTHON" -c 'import secrets; print(secrets.token_hex(32))')"
    echo "note: no STREAMLIT_SERVER_COOKIE_SECRET set: using a new one for this run (put one in deploy/.env)" >&2
fi
export STREAMLIT_SERVER_COOKIE_SECRET

pids=()
if [ "${REDIS:-0}" = "1" ]; then
    REDIS_PORT="${REDIS_PORT:-6379}"
    REDIS_SERVER="${REDIS_SERVER:-/usr/bin/redis-server}"
    if [ ! -x "$REDIS_SERVER" ]; then
        echo "redis-server not found: apt-get install -y redis-server (or set REDIS_SERVER)" >&2
        exit 1
    fi
    "$REDIS_SERVER" --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no > >(sed -u "s/^/[redis] /") 2>&1 &
    pids+=("$!")
    export ADJOINT_REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
fi
if [ -n "${ADJOINT_REDIS_URL:-}" ]; then echo "rooms shared through $ADJOINT_REDIS_URL" >&2; fi
stop_all() {
    trap - INT TERM EXIT
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap 'stop_all; exit 130' INT
trap 'stop_all; exit 143' TERM
trap stop_all EXIT

# One replica, started again whenever it exits, until this loop gets SIGTERM.
replica() {
    local name="$1" port="$2" child="" status
    trap 'if [ -n "$child" ]; then kill -TERM "$child" 2>/dev/null; wait "$child" 2>/dev/null; fi; exit 0' TERM INT
    while :; do
        "$PYTHON" -m streamlit run app.py \
            --server.headless true --server.address 127.0.0.1 --server.port "$port" \
            --browser.gatherUsageStats false > >(sed -u "s/^/[$name] /") 2>&1 &
        child=$!   # the replica itself (not the sed that prefixes its output)
        status=0
        wait "$child" || status=$?
        echo "[$name] exited ($status): starting it again in 2 s" >&2
        sleep 2 &
        wait $! || true
    done
}

export HAPROXY_BIND="$BIND_ADDRESS:$PORT"
if [ "$STATS_PORT" != "0" ]; then export HAPROXY_STATS="127.0.0.1:$STATS_PORT"; else unset HAPROXY_STATS; fi
unset REPLICA_DNS REPLICAS
for i in 1 2 3 4 5 6 7 8; do unset "REPLICA_$i"; done
for ((i = 1; i <= N; i++)); do
    port=$((FIRST_PORT + i - 1))
    export "REPLICA_$i=127.0.0.1:$port"
    replica "r$i" "$port" &
    pids+=("$!")
done

# Wait (at most 120 s) until every replica answers its health check, then put HAProxy in front.
"$PYTHON" - "$FIRST_PORT" "$N" <<'EOF'
import sys, time, urllib.request
first, n = int(sys.argv[1]), int(sys.argv[2])
deadline = time.monotonic() + 120
for port in range(first, first + n):
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        if time.monotonic() > deadline:
            sys.exit(f"replica on port {port} not healthy after 120 s")
        time.sleep(0.5)
EOF

"$HAPROXY" -c -q -f "$DEPLOY/haproxy.cfg"
echo "$N replicas on 127.0.0.1:$FIRST_PORT-$((FIRST_PORT + N - 1)); students open http://<this machine>:$PORT/" \
     "(statistics: ${HAPROXY_STATS:-off})" >&2
"$HAPROXY" -db -f "$DEPLOY/haproxy.cfg" &
pids+=("$!")
status=0
wait "${pids[-1]}" || status=$?
echo "haproxy exited ($status): stopping the replicas" >&2
exit "$status"
