#!/usr/bin/env bash
# 10,000 WebSocket clients subscribed to one running execution of a real
# `youmeyou serve`: publish-to-deliver latency, and the server's memory per
# connection. Usage: bench/ws_10k.sh [CLIENTS] (after make build)
set -euo pipefail
cd "$(dirname "$0")/.."
clients=${1:-10000}
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true  # 10,000 clients need 10,000 descriptors in each process
bin=${YOUMEYOU_BIN:-build/youmeyou}
load=build/bench/youmeyou_wsload

coproc SERVER { exec "$bin" serve --port 0 --memory; }
server_pid=$SERVER_PID
trap 'kill -TERM $server_pid 2>/dev/null; wait $server_pid 2>/dev/null || true' EXIT
IFS= read -r line <&"${SERVER[0]}"
port=$(echo "$line" | sed -n 's|.*http://127.0.0.1:\([0-9]*\).*|\1|p')
rss() { awk '/VmRSS/ {print $2}' "/proc/$server_pid/status"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$server_pid/stat"; }  # utime + stime, in clock ticks

# A run long enough for every client to connect first: Example 1 paced at 0.1
# of its estimates (about 22 s), its first events before any client exists.
exec_id=$(curl -sf -XPOST "localhost:$port/api/design" \
  -d '{"request":"Build a complete e-commerce platform with user auth, product catalog, shopping cart, and payment processing","options":{"simulateLatency":0.1}}' |
  sed -n 's|.*"executionId":"\([^"]*\)".*|\1|p')
live_after=$(curl -sf "localhost:$port/api/executions/$exec_id" | sed -n 's|.*"lastSeq":\([0-9]*\).*|\1|p')
base_kb=$(rss)
base_ticks=$(cpu_ticks)
"$load" --port "$port" --execution "$exec_id" --clients "$clients" --live-after "$live_after" >"/tmp/wsload.json" &
load_pid=$!
# Sample the server's memory: once when every client is connected (between
# events, the connections are idle), and its peak with messages in flight.
peak_kb=$base_kb
connected_kb=0
while kill -0 "$load_pid" 2>/dev/null; do
  now=$(rss)
  [ "$now" -gt "$peak_kb" ] && peak_kb=$now
  if [ "$connected_kb" = 0 ] &&
     curl -sf "localhost:$port/metrics" | grep -q "^youmeyou_open_connections{transport=\"websocket\"} $clients\$"; then
    connected_kb=$(rss)
  fi
  curl -sf "localhost:$port/api/executions/$exec_id/events?after=100000&wait=1" >/dev/null || true
done
wait "$load_pid" || echo "load generator reported failures"
{ curl -sf "localhost:$port/metrics" | grep -E '^youmeyou_websocket_(frames_sent|writes)_total' || true; } | tr '\n' ' '; echo
server_cpu_s=$(awk -v t="$(( $(cpu_ticks) - base_ticks ))" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.2f", t / hz}')
cat /tmp/wsload.json
echo "{\"server_rss_base_kb\":$base_kb,\"server_rss_connected_kb\":$connected_kb,\"server_rss_peak_kb\":$peak_kb,\"bytes_per_connection\":$(( (connected_kb - base_kb) * 1024 / clients )),\"peak_bytes_per_connection\":$(( (peak_kb - base_kb) * 1024 / clients )),\"server_cpu_s\":$server_cpu_s}"
