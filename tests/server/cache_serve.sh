#!/usr/bin/env bash
# The cache through the real binary, as an operator runs it:
#   - the same request twice: the second is replayed from L1, and
#     `youmeyou cache stats` shows it;
#   - SIGTERM saves the similarity index; the next start loads it and serves a
#     request that differs only in its numbers as a template (L3);
#   - with --redis, an answer stored by one instance is served by the next from
#     L2 (its L1 is empty), and a Redis that dies makes requests run, not fail;
#   - `youmeyou cache clear` empties every tier.
set -u
bin="$1"
data=$(mktemp -d)
server_pid=""
redis_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill -TERM "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null; fi
  if [ -n "$redis_pid" ]; then kill "$redis_pid" 2>/dev/null; wait "$redis_pid" 2>/dev/null; fi
  rm -rf "$data"
}
trap cleanup EXIT

fail() { echo "FAIL: $*"; exit 1; }

start_server() {
  coproc SERVER { exec "$bin" serve --port 0 --data "$data" "$@"; }
  server_pid=$SERVER_PID
  IFS= read -r line <&"${SERVER[0]}" || fail "server printed nothing"
  port=$(echo "$line" | sed -n 's|.*http://127.0.0.1:\([0-9]*\).*|\1|p')
  [ -n "$port" ] || fail "no port in: $line"
}
stop_server() {
  kill -TERM "$server_pid"
  wait "$server_pid" 2>/dev/null
  server_pid=""
}

json() {  # json EXPRESSION < document   (EXPRESSION sees the parsed document as d)
  node -e "let s='';process.stdin.on('data',c=>s+=c).on('end',()=>{const d=JSON.parse(s);console.log($1)})"
}

l1_entries() { curl -sf "localhost:$port/api/cache" | json 'd.l1.entries'; }

# design REQUEST -> "executionId cache", after the run has finished and its
# answer is stored (just after the summary is published)
design() {
  local reply id cache after=0 before
  before=$(l1_entries)
  reply=$(curl -sf -XPOST "localhost:$port/api/design" -d "{\"request\":\"$1\"}") || fail "design '$1' was not accepted"
  id=$(echo "$reply" | json 'd.executionId')
  cache=$(echo "$reply" | json 'd.cache')
  while :; do
    page=$(curl -sf "localhost:$port/api/executions/$id/events?after=$after&wait=10") || fail "long poll failed"
    after=$(echo "$page" | json 'd.next')
    echo "$page" | json 'd.events.some(e=>e.type==="executionSummary")' | grep -q true && break
  done
  if [ "$cache" != L1 ] && [ "$cache" != L2 ]; then
    for _ in $(seq 500); do [ "$(l1_entries)" -gt "$before" ] && break; done
  fi
  echo "$id $cache"
}

start_server
read -r first cache <<<"$(design "scale the auth service to 3000 RPS")"
[ "$cache" = MISS ] || fail "first request: cache $cache"
read -r second cache <<<"$(design "scale the auth service to 3000 RPS")"
[ "$cache" = L1 ] || fail "same request again: cache $cache, expected L1"
first_event=$(curl -sf "localhost:$port/api/executions/$second/events?after=0&limit=1" | json 'd.events[0].cache')
[ "$first_event" = L1 ] || fail "the replayed events are not marked L1 ($first_event)"
stats=$("$bin" cache stats --url "http://127.0.0.1:$port") || fail "cache stats failed"
echo "$stats" | grep -Eq '^L1 +1 +1 ' || fail "cache stats does not show one L1 hit and one miss: $stats"
stop_server
[ -s "$data/cache-l3.idx" ] || fail "SIGTERM did not save the similarity index"

start_server
stats=$("$bin" cache stats --url "http://127.0.0.1:$port")
echo "$stats" | grep -q "L3: 1 templates .*loaded from" || fail "the index was not loaded at start: $stats"
read -r similar cache <<<"$(design "auth service scaling 5000 RPS")"
[ "$cache" = L3 ] || fail "a number-only change: cache $cache, expected L3"
found=$(curl -sf "localhost:$port/api/executions/$similar/events?after=0&limit=1" | json 'd.events[0].type+" "+d.events[0].sourceExecutionId')
[ "$found" = "similarSolutionFound $first" ] || fail "first event: $found"
read -r _ cache <<<"$(design "scale payments to 3000 RPS")"
[ "$cache" = MISS ] || fail "another component was served from $cache"
stop_server

# L2: a real Redis shared by instances.
redis_port=$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no >"$data/redis.log" 2>&1 &
redis_pid=$!
for _ in $(seq 100); do redis-cli -p "$redis_port" ping 2>/dev/null | grep -q PONG && break; sleep 0.05; done
redis-cli -p "$redis_port" ping | grep -q PONG || fail "redis-server did not start: $(cat "$data/redis.log")"

start_server --redis "redis://127.0.0.1:$redis_port"
read -r _ cache <<<"$(design "add a search service for the product catalog")"
[ "$cache" = MISS ] || fail "with redis, first request: $cache"
stop_server
start_server --redis "redis://127.0.0.1:$redis_port"
read -r _ cache <<<"$(design "add a search service for the product catalog")"
[ "$cache" = L2 ] || fail "a new instance (empty L1) was served from $cache, expected L2"
kill "$redis_pid"; wait "$redis_pid" 2>/dev/null; redis_pid=""
read -r _ cache <<<"$(design "add an audit log service")"
[ "$cache" = MISS ] || fail "with Redis gone: $cache"
curl -sf "localhost:$port/metrics" | grep -q 'youmeyou_cache_l2_connected 0' || fail "metrics do not show L2 down"

cleared=$("$bin" cache clear --url "http://127.0.0.1:$port" 2>&1)
[ $? -ne 0 ] || fail "cache clear with Redis down should fail and say why: $cleared"
echo "$cleared" | grep -qi "redis" || fail "cache clear did not name Redis: $cleared"
stop_server
start_server
cleared=$("$bin" cache clear --url "http://127.0.0.1:$port") || fail "cache clear failed"
echo "$cleared" | grep -q "cleared: L1" || fail "cache clear printed: $cleared"
read -r _ cache <<<"$(design "auth service scaling 5000 RPS")"
[ "$cache" = MISS ] || fail "after clear: $cache"
echo "cache through the binary: all checks passed"
