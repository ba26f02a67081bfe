#!/usr/bin/env bash
# Runs the real binary the way a person does and checks exit codes and messages.
set -u
bin="$1"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0

expect() {  # expect CODE PATTERN -- ARGS...
  local code="$1" pattern="$2"
  shift 3
  "$bin" "$@" >"$tmp/out" 2>"$tmp/err"
  local got=$?
  if [ "$got" -ne "$code" ] || ! grep -q -- "$pattern" "$tmp/err" "$tmp/out"; then
    echo "FAIL: youmeyou $* -> exit $got (want $code), output:"; cat "$tmp/out" "$tmp/err"
    failures=$((failures + 1))
  fi
}

printf '{"nodes": [' >"$tmp/broken.json"
expect 0 '"intent": "SCALE_COMPONENT"' -- analyze "make the auth service scalable to 5000 RPS"
expect 0 'route: STATIC' -- plan "scale auth to 3000 rps"
expect 2 'needs a request' -- analyze ""
expect 2 'does not exist' -- plan "scale auth" --canvas "$tmp/missing.json"
expect 2 'invalid JSON at line 1' -- plan "scale auth" --canvas "$tmp/broken.json"
expect 2 'not valid UTF-8' -- analyze "$(printf 'scale \xff auth')"
expect 2 'the limit is 8192' -- plan "$(head -c 102400 /dev/zero | tr '\0' 'a')"
expect 0 'Usage' -- --help
expect 0 'success: 7 tasks' -- design "Fix the auth service in my design and make it scalable to 5000 RPS" --canvas "$(dirname "$0")/../../data/examples/ecommerce-basic-auth.canvas.json" --out "$tmp/scale"
[ -f "$tmp/scale/files/deploy/nginx.conf" ] || { echo "FAIL: design --out wrote no nginx.conf"; failures=$((failures + 1)); }
expect 2 'does not exist' -- design "scale auth" --canvas "$tmp/missing.json"

# Ctrl-C during a run cancels it gracefully: running tasks stop, the summary says so, exit 1.
coproc DESIGN { exec "$bin" design "Build a complete e-commerce platform with user auth and a product catalog" --json --simulate-latency 1; }
design_pid=$DESIGN_PID
while IFS= read -r line <&"${DESIGN[0]}"; do
  case "$line" in *'"type":"taskStarted"'*) break ;; esac
done
kill -INT "$design_pid"
cat <&"${DESIGN[0]}" >"$tmp/rest"
wait "$design_pid"
code=$?
if [ "$code" -ne 1 ] || ! grep -q '"type":"taskCancelled"' "$tmp/rest" || ! tail -n 1 "$tmp/rest" | grep -q '"cancelled":true'; then
  echo "FAIL: SIGINT during design -> exit $code, tail:"; tail -n 3 "$tmp/rest"
  failures=$((failures + 1))
fi

# serve: SIGTERM stops it gracefully. A running execution is suspended, not
# cancelled: streams end with a close reason and no summary, and the next start
# on the same data resumes it.
start_serve() {
  coproc SERVE { exec "$bin" serve --port 0 --data "$tmp/data"; }
  serve_pid=$SERVE_PID
  IFS= read -r line <&"${SERVE[0]}"
  port=$(echo "$line" | sed -n 's|.*http://127.0.0.1:\([0-9]*\).*|\1|p')
}
start_serve
if [ -z "$port" ] || ! curl -sf "localhost:$port/healthz" >/dev/null; then
  echo "FAIL: serve did not come up: $line"; failures=$((failures + 1))
else
  exec_id=$(curl -sf -XPOST "localhost:$port/api/design" -d '{"request":"build a blog platform","options":{"simulateLatency":1}}' |
    sed -n 's|.*"executionId":"\([^"]*\)".*|\1|p')
  curl -sN --max-time 30 "localhost:$port/api/executions/$exec_id/stream" >"$tmp/sse" &
  sse_pid=$!
  until grep -q '"type":"taskStarted"' "$tmp/sse" 2>/dev/null; do
    curl -sf "localhost:$port/api/executions/$exec_id/events?after=4&wait=5" >/dev/null || break
  done
  kill -TERM "$serve_pid"
  wait "$serve_pid"
  code=$?
  wait "$sse_pid"
  if [ "$code" -ne 0 ] || grep -q '"type":"executionSummary"' "$tmp/sse" || ! grep -q 'event: close' "$tmp/sse"; then
    echo "FAIL: SIGTERM on serve -> exit $code; stream tail:"; tail -c 400 "$tmp/sse"
    failures=$((failures + 1))
  fi
  start_serve
  curl -sf "localhost:$port/api/executions/$exec_id/events?after=0&limit=5000" >"$tmp/log.json"
  curl -sf "localhost:$port/api/executions/$exec_id" >"$tmp/state.json"
  resumed=$(node -e "const d=require('$tmp/log.json');console.log(d.events.filter(e=>e.resumed===true).length)")
  state=$(node -e "console.log(require('$tmp/state.json').status)")
  if [ "$resumed" != 1 ] || [ "$state" != running ]; then
    echo "FAIL: after a restart the execution is '$state', resumed markers: $resumed"; head -c 600 "$tmp/log.json"; failures=$((failures + 1))
  fi
  kill -TERM "$serve_pid"
  wait "$serve_pid"
fi

if [ "$failures" -gt 0 ]; then
  echo "$failures check(s) failed"
  exit 1
fi
echo "cli exit codes: all checks passed"
