#!/usr/bin/env bash
# Saves a control plane's whole configuration (engines, policies, alert rules, channels, silences, API
# keys as hashes) as one JSON document: GET /config/export.
#
# usage: scripts/backup.sh API_URL [FILE]
#   API_URL  e.g. http://127.0.0.1:3000/api/v1/nerve; FILE defaults to nerve-backup-<UTC time>.json
# NERVE_TOKEN (admin) is sent when set. Prints the file and the version it holds.
set -euo pipefail
# The script's leading comment block, as its usage (nothing after it).
usage_text() { awk 'NR == 1 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$0"; }
[ $# -ge 1 ] || { usage_text; exit 2; }
api=${1%/}
# A host base (http://host:3000) or the full base (…/api/v1/nerve): either works.
case "$api" in */api/v1/nerve) ;; *) api="$api/api/v1/nerve" ;; esac
file=${2:-nerve-backup-$(date -u +%Y%m%dT%H%M%SZ).json}
auth=()
[ -n "${NERVE_TOKEN:-}" ] && auth=(-H "authorization: Bearer ${NERVE_TOKEN}")
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
status=$(curl -sS --max-time 60 "${auth[@]}" -o "$tmp" -w '%{http_code}' "$api/config/export")
if [ "$status" != 200 ]; then
  echo "backup failed: GET $api/config/export answered $status: $(head -c 300 "$tmp")" >&2
  exit 1
fi
mv "$tmp" "$file"
trap - EXIT
version=$(grep -Eo '"version":[0-9]+' "$file" | head -1 | cut -d: -f2)
echo "saved $file (configuration version ${version:-?})"
