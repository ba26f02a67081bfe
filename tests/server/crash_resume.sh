#!/usr/bin/env bash
# kill -9 the server in the middle of a run, start it again on the same data:
# the run resumes without re-running completed tasks, the event log continues
# from the next seq, and a client resuming from its last seq sees the rest.
set -u
bin="$1"
data=$(mktemp -d)
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill -TERM "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null; fi
  rm -rf "$data"
}
trap cleanup EXIT

fail() { echo "FAIL: $*"; exit 1; }

start_server() {
  coproc SERVER { exec "$bin" serve --port 0 --data "$data"; }
  server_pid=$SERVER_PID
  IFS= read -r line <&"${SERVER[0]}" || fail "server printed nothing"
  port=$(echo "$line" | sed -n 's|.*http://127.0.0.1:\([0-9]*\).*|\1|p')
  [ -n "$port" ] || fail "no port in: $line"
}

json() {  # json EXPRESSION < document   (EXPRESSION sees the parsed document as d)
  node -e "let s='';process.stdin.on('data',c=>s+=c).on('end',()=>{const d=JSON.parse(s);console.log($1)})"
}

start_server
exec_id=$(curl -sf -XPOST "localhost:$port/api/design" \
  -d '{"request":"Build a complete e-commerce platform with user auth, product catalog, shopping cart, and payment processing","options":{"simulateLatency":0.02}}' |
  json 'd.executionId') || fail "design was not accepted"

# Follow by long poll until the schema task has completed, then crash.
after=0
while :; do
  page=$(curl -sf "localhost:$port/api/executions/$exec_id/events?after=$after&wait=10") || fail "long poll failed"
  after=$(echo "$page" | json 'd.next')
  echo "$page" | json 'd.events.some(e=>e.type==="taskCompleted"&&e.taskId==="task_2")' | grep -q true && break
done
kill -9 "$server_pid"
wait "$server_pid" 2>/dev/null
server_pid=""
seen_before=$after

start_server
# Resume from the last seq seen: SSE with Last-Event-ID.
curl -sN --max-time 60 -H "Last-Event-ID: $seen_before" "localhost:$port/api/executions/$exec_id/stream" >"$data/sse" &
curl_pid=$!
while ! grep -q '"type":"executionSummary"' "$data/sse" 2>/dev/null; do
  kill -0 "$curl_pid" 2>/dev/null || break
  curl -sf "localhost:$port/api/executions/$exec_id/events?after=$seen_before&wait=5" >/dev/null
done
kill "$curl_pid" 2>/dev/null
wait "$curl_pid" 2>/dev/null
grep -q '"type":"executionSummary"' "$data/sse" || fail "the resumed run did not finish: $(tail -c 300 "$data/sse")"
first_sse=$(grep -m1 '^id: ' "$data/sse" | cut -d' ' -f2)
[ "$first_sse" = "$((seen_before + 1))" ] || fail "SSE resumed at $first_sse, expected $((seen_before + 1))"

# The whole log: contiguous, one summary, completed tasks not started twice, a resume marker.
all=$(curl -sf "localhost:$port/api/executions/$exec_id/events?after=0&limit=5000") || fail "cannot read the log"
echo "$all" | json 'd.events.every((e,i)=>e.seq===i+1)' | grep -q true || fail "the event log has a gap or a duplicate"
[ "$(echo "$all" | json 'd.events.filter(e=>e.type==="executionSummary").length')" = 1 ] || fail "not exactly one summary"
[ "$(echo "$all" | json 'd.events.filter(e=>e.type==="taskStarted"&&e.taskId==="task_1").length')" = 1 ] ||
  fail "task_1 ran twice"
[ "$(echo "$all" | json 'd.events.filter(e=>e.type==="taskStarted"&&e.taskId==="task_2").length')" = 1 ] ||
  fail "task_2 ran twice"
echo "$all" | json 'd.events.some(e=>e.type==="executionStarted"&&e.resumed===true)' | grep -q true || fail "no resume marker"
state=$(curl -sf "localhost:$port/api/executions/$exec_id" | json 'd.status')
[ "$state" = completed ] || [ "$state" = running ] || fail "state is $state"
echo "crash and resume: all checks passed (crashed after seq $seen_before)"
