#!/usr/bin/env bash
# The generated code works: render the catalog's auth and catalog services,
# install them with npm, run them against a throwaway PostgreSQL, drive them
# with curl (register + login on auth, CRUD on the catalog with the token auth
# issued), then run each service's own `npm test` and the generated
# cross-service tests. Everything started here is stopped on exit.
#
#   generated_services_run.sh EMIT_SERVICES DATA_DIR
#
# KEEP_WORK=1 keeps the temporary directory (generated code, logs) for a look.
set -euo pipefail

emit=${1:?usage: generated_services_run.sh EMIT_SERVICES DATA_DIR}
data=${2:?usage: generated_services_run.sh EMIT_SERVICES DATA_DIR}

say() { printf 'generated_services_run: %s\n' "$*"; }
die() { say "FAIL: $*" >&2; exit 1; }

# ---- Tools -------------------------------------------------------------------
for tool in node npm curl; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is missing (scripts/setup installs it)"
done
pg_bin=""
if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
  pg_bin=$(dirname "$(command -v pg_ctl)")
else
  for dir in /usr/lib/postgresql/*/bin; do
    [ -x "$dir/initdb" ] && pg_bin=$dir
  done
fi
[ -n "$pg_bin" ] || die "PostgreSQL server binaries (initdb, pg_ctl) are missing (scripts/setup installs postgresql)"
psql_bin=$(command -v psql || echo "$pg_bin/psql")

# PostgreSQL refuses to run as root: as root, run it as the postgres user.
as_pg=()
if [ "$(id -u)" -eq 0 ]; then
  id postgres >/dev/null 2>&1 || die "running as root needs a 'postgres' OS user for the database"
  as_pg=(runuser -u postgres --)
fi

# ---- Cleanup -----------------------------------------------------------------
work=$(mktemp -d "${TMPDIR:-/tmp}/ymy-generated-run.XXXXXX")
chmod 755 "$work"
service_pids=()
pg_started=0

cleanup() {
  local status=$?
  for pid in "${service_pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${service_pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  if [ "$pg_started" -eq 1 ]; then
    "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$work/pg" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  if [ "$status" -ne 0 ]; then
    for log in "$work"/*.log; do
      [ -f "$log" ] || continue
      say "---- $(basename "$log") (last 40 lines)" >&2
      tail -n 40 "$log" >&2 || true
    done
  fi
  if [ "${KEEP_WORK:-0}" = "1" ]; then
    say "kept $work"
  else
    rm -rf "$work"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  node -e 'const s = require("net").createServer(); s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });'
}

# Polls `curl URL` until it answers 2xx: at most `tries` times, `pause` apart.
# Fails early when process `pid` has exited.
wait_for_http() {
  local url=$1 pid=$2 name=$3 tries=${4:-120}
  for ((i = 1; i <= tries; i++)); do
    if curl -fsS -o /dev/null --max-time 2 "$url" 2>/dev/null; then
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || die "$name exited before answering (see $name.log)"
    sleep 0.25
  done
  die "$name did not answer $url after $tries tries"
}

# ---- PostgreSQL ----------------------------------------------------------------
pg_port=$(free_port)
mkdir -p "$work/pg" "$work/pgsock"
if [ ${#as_pg[@]} -gt 0 ]; then chown postgres: "$work/pg" "$work/pgsock"; fi
say "initdb in $work/pg (port $pg_port)"
"${as_pg[@]}" "$pg_bin/initdb" -D "$work/pg" -U postgres -A trust -E UTF8 --no-sync >"$work/initdb.log" 2>&1 ||
  die "initdb failed (see initdb.log)"
touch "$work/postgres.log"
if [ ${#as_pg[@]} -gt 0 ]; then chown postgres: "$work/postgres.log"; fi
"${as_pg[@]}" "$pg_bin/pg_ctl" -D "$work/pg" -l "$work/postgres.log" -w -t 60 \
  -o "-p $pg_port -k $work/pgsock -c listen_addresses=127.0.0.1 -c fsync=off" start >"$work/pg_ctl.log" 2>&1 ||
  die "PostgreSQL did not start (see postgres.log)"
pg_started=1
"$psql_bin" -h 127.0.0.1 -p "$pg_port" -U postgres -v ON_ERROR_STOP=1 -qc "CREATE DATABASE app" ||
  die "CREATE DATABASE failed"
database_url="postgres://postgres@127.0.0.1:$pg_port/app"

# ---- Generate and install ------------------------------------------------------
"$emit" "$data" "$work/gen" auth catalog >"$work/services.txt" || die "emit_services failed"
mapfile -t services < <(cut -d' ' -f1 "$work/services.txt")
[ "${services[*]}" = "auth-service product-service" ] || die "unexpected services: ${services[*]}"

for dir in "${services[@]}" integration-tests; do
  say "npm install in $dir"
  (cd "$work/gen/$dir" && npm install --no-audit --no-fund --loglevel=error >"$work/npm-$dir.log" 2>&1) ||
    die "npm install failed in $dir (see npm-$dir.log)"
done

# ---- Start the services --------------------------------------------------------
jwt_secret="run-test-secret-$RANDOM$RANDOM"
declare -A url
for svc in "${services[@]}"; do
  port=$(free_port)
  url[$svc]="http://127.0.0.1:$port"
  (cd "$work/gen/$svc" && PORT=$port DATABASE_URL=$database_url JWT_SECRET=$jwt_secret NODE_ENV=development \
    exec node src/server.js >"$work/$svc.log" 2>&1) &
  service_pids+=($!)
  say "started $svc on port $port (pid $!)"
done
for i in "${!services[@]}"; do
  wait_for_http "${url[${services[$i]}]}/health" "${service_pids[$i]}" "${services[$i]}"
done
say "both services answer /health"

# ---- Drive them with curl ------------------------------------------------------
status=""
body=""
# call METHOD URL [JSON] [TOKEN]: sets $status and $body.
call() {
  local method=$1 target=$2 json=${3:-} token=${4:-}
  local args=(-sS -o "$work/body.json" -w '%{http_code}' -X "$method" --max-time 10)
  [ -n "$json" ] && args+=(-H 'content-type: application/json' --data "$json")
  [ -n "$token" ] && args+=(-H "authorization: Bearer $token")
  status=$(curl "${args[@]}" "$target") || die "curl $method $target failed"
  body=$(cat "$work/body.json")
}
expect() {
  local want=$1 what=$2
  [ "$status" = "$want" ] || die "$what: expected HTTP $want, got $status: $body"
  say "ok  $what -> $status"
}
# field PATH: reads a dotted path from $body ("user.id").
field() {
  node -e 'const v = process.argv[2].split(".").reduce((o, k) => (o == null ? o : o[k]), JSON.parse(process.argv[1]));
           process.stdout.write(v === undefined || v === null ? "" : typeof v === "object" ? JSON.stringify(v) : String(v));' \
    "$body" "$1"
}

auth=${url[auth-service]}
catalog=${url[product-service]}
email="run-$RANDOM$RANDOM@example.com"

call POST "$auth/auth/register" "{\"email\":\"$email\",\"password\":\"correct-horse-battery\"}"
expect 201 "register"
[ -n "$(field token)" ] || die "register returned no token: $body"
[ -z "$(field user.password_hash)" ] || die "register leaked the password hash: $body"
call POST "$auth/auth/register" "{\"email\":\"$email\",\"password\":\"correct-horse-battery\"}"
expect 409 "register the same email again"
call POST "$auth/auth/register" '{"email":"nope","password":"x"}'
expect 400 "register with a bad email and password"
[ "$(field error.fields.email)" != "" ] && [ "$(field error.fields.password)" != "" ] || die "fields not named: $body"
call POST "$auth/auth/login" "{\"email\":\"$email\",\"password\":\"wrong-password\"}"
expect 401 "login with a wrong password"
call POST "$auth/auth/login" "{\"email\":\"$email\",\"password\":\"correct-horse-battery\"}"
expect 200 "login"
token=$(field token)
user_id=$(field user.id)
[ -n "$token" ] && [ -n "$user_id" ] || die "login returned no token or user: $body"
call GET "$auth/auth/me" "" "$token"
expect 200 "me with the token"
[ "$(field user.email)" = "$email" ] || die "me returned another account: $body"
call GET "$auth/auth/me"
expect 401 "me without a token"

# The catalog trusts tokens from auth: one JWT_SECRET.
call POST "$catalog/categories" '{"name":"Books","slug":"books-'"$RANDOM$RANDOM"'"}'
expect 401 "create a category without a token"
call POST "$catalog/categories" '{"name":"Books","slug":"books-'"$RANDOM$RANDOM"'"}' "$token"
expect 201 "create a category"
category_id=$(field id)
call POST "$catalog/products" '{"name":"Dune"}' "$token"
expect 400 "create a product without sku and price"
[ -n "$(field error.fields.sku)" ] && [ -n "$(field error.fields.price)" ] || die "fields not named: $body"
call POST "$catalog/products" '{"sku":"SKU-'"$RANDOM$RANDOM"'","name":"Dune","price":"abc"}' "$token"
expect 400 "create a product with a non-numeric price"
sku="SKU-$RANDOM$RANDOM"
call POST "$catalog/products" '{"sku":"'"$sku"'","name":"Dune","price":9.99,"category_id":"'"$category_id"'","attributes":{"pages":412}}' "$token"
expect 201 "create a product"
product_id=$(field id)
[ "$(field attributes.pages)" = "412" ] || die "attributes not stored as JSON: $body"
call POST "$catalog/products" '{"sku":"'"$sku"'","name":"Dune again","price":1}' "$token"
expect 409 "create a product with a taken sku"
call GET "$catalog/products/$product_id"
expect 200 "read the product"
[ "$(field name)" = "Dune" ] && [ "$(field price)" = "9.99" ] || die "unexpected product: $body"
call GET "$catalog/products?category_id=$category_id&limit=10"
expect 200 "list products of the category"
[ "$(field items.0.id)" = "$product_id" ] || die "the list misses the product: $body"
call PATCH "$catalog/products/$product_id" '{"price":12.5,"active":false}' "$token"
expect 200 "update the product"
[ "$(field price)" = "12.50" ] && [ "$(field active)" = "false" ] || die "update not applied: $body"
call GET "$catalog/products?limit=abc"
expect 400 "list with a bad limit"
call DELETE "$catalog/products/$product_id" "" "$token"
expect 204 "delete the product"
call GET "$catalog/products/$product_id"
expect 404 "read the deleted product"
call DELETE "$catalog/categories/$category_id" "" "$token"
expect 204 "delete the category"

# ---- The generated tests ---------------------------------------------------------
for svc in "${services[@]}"; do
  say "npm test in $svc"
  (cd "$work/gen/$svc" && BASE_URL=${url[$svc]} JWT_SECRET=$jwt_secret npm test >"$work/test-$svc.log" 2>&1) ||
    die "npm test failed in $svc (see test-$svc.log)"
  grep -E '^# (tests|pass|fail|skipped)' "$work/test-$svc.log" | sed "s/^/  $svc /"
done
say "npm test in integration-tests"
(cd "$work/gen/integration-tests" && AUTH_SERVICE_URL=$auth PRODUCT_SERVICE_URL=$catalog JWT_SECRET=$jwt_secret \
  npm test >"$work/test-integration.log" 2>&1) || die "integration tests failed (see test-integration.log)"
grep -E '^# (tests|pass|fail|skipped)' "$work/test-integration.log" | sed 's/^/  integration /'

# The services stop on SIGTERM.
for i in "${!service_pids[@]}"; do
  kill -TERM "${service_pids[$i]}"
  wait "${service_pids[$i]}" || die "${services[$i]} did not exit cleanly on SIGTERM"
done
service_pids=()
say "all passed"
