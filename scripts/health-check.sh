#!/usr/bin/env bash
# Checks a Nerve deployment: every health, metrics and xDS endpoint of a control plane (and of a router
# when --router is given), one line each, and exits 1 naming what failed.
#
# usage: scripts/health-check.sh API_URL [--router ADMIN_URL] [--timeout SECONDS]
#   API_URL    the control plane: http://127.0.0.1:3000, or its REST base …/api/v1/nerve
#   ADMIN_URL  a router's admin base, e.g. http://127.0.0.1:9901
# NERVE_TOKEN (a JWT or an API key, viewer is enough) is sent when set. Needs curl.
set -uo pipefail
# The script's leading comment block, as its usage (nothing after it).
usage_text() { awk 'NR == 1 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$0"; }

usage() { usage_text; exit 2; }
[ $# -ge 1 ] || usage
api=${1%/}
# A host base (http://host:3000) or the full base (…/api/v1/nerve): either works.
case "$api" in */api/v1/nerve) ;; *) api="$api/api/v1/nerve" ;; esac
shift
router=''
timeout=5
while [ $# -gt 0 ]; do
  case "$1" in
    --router) router=${2%/}; shift 2 ;;
    --timeout) timeout=$2; shift 2 ;;
    -h|--help) usage ;;
    *) echo "unknown argument: $1" >&2; usage ;;
  esac
done
command -v curl >/dev/null || { echo "curl is needed" >&2; exit 2; }

auth=()
[ -n "${NERVE_TOKEN:-}" ] && auth=(-H "authorization: Bearer ${NERVE_TOKEN}")
failed=()

# check NAME URL EXPECT: GET URL; the status must be 200 and the body must match the extended regex EXPECT.
check() {
  local name=$1 url=$2 expect=$3 body status
  body=$(curl -sS --max-time "$timeout" "${auth[@]}" -w '\n%{http_code}' "$url" 2>&1)
  status=${body##*$'\n'}
  body=${body%$'\n'*}
  if [ "$status" = 200 ] && grep -Eq "$expect" <<<"$body"; then
    printf 'ok    %-34s %s\n' "$name" "$url"
  else
    local why="HTTP $status"
    [ "$status" = 000 ] && why="no answer: $(head -c 160 <<<"$body")"
    [ "$status" = 200 ] && why="answer lacks /$expect/"
    printf 'FAIL  %-34s %s (%s)\n' "$name" "$url" "$why"
    failed+=("$name")
  fi
}

check 'control plane alive' "$api/health/live" '"status":"alive"'
check 'control plane ready' "$api/health/ready" '"status":"ready"'
check 'fleet health' "$api/health" '"status":"healthy"'
check 'store reachable' "$api/stats" '"store":\{[^}]*"state":"ok"'
check 'Prometheus metrics' "$api/metrics/prometheus" '^# (HELP|TYPE) '
check 'xDS clients' "$api/xds/clients" '"clients"'
check 'xDS bootstrap' "$api/xds/bootstrap" '"xds_servers"'

# The xDS port itself: the bootstrap names it; a TCP connect shows it listens.
xds=$(curl -sS --max-time "$timeout" "${auth[@]}" "$api/xds/bootstrap" 2>/dev/null |
  grep -Eo '"server_uri":"[^"]+"' | head -1 | sed -E 's/.*"server_uri":"([^"]+)"/\1/')
if [ -n "$xds" ] && (exec 3<>"/dev/tcp/${xds%:*}/${xds##*:}") 2>/dev/null; then
  printf 'ok    %-34s %s\n' 'xDS port listening' "$xds"
else
  printf 'FAIL  %-34s %s\n' 'xDS port listening' "${xds:-unknown (no bootstrap)}"
  failed+=('xDS port listening')
fi

if [ -n "$router" ]; then
  check 'router ready' "$router/ready" 'ready'
  check 'router metrics' "$router/metrics" '^# (HELP|TYPE) '
  check 'router config' "$router/config" '"'
fi

if [ ${#failed[@]} -gt 0 ]; then
  echo "unhealthy: ${failed[*]}"
  exit 1
fi
echo "healthy"
