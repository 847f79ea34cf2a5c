#!/usr/bin/env bash
# Restores a configuration saved by backup.sh: validates it whole first (POST /config/import?dryRun=true),
# then imports it as the newest version. Nothing changes when the document is invalid.
#
# usage: scripts/restore.sh API_URL FILE [--dry-run]
# NERVE_TOKEN (admin) is sent when set.
set -euo pipefail
# The script's leading comment block, as its usage (nothing after it).
usage_text() { awk 'NR == 1 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$0"; }
[ $# -ge 2 ] || { usage_text; exit 2; }
api=${1%/}
# A host base (http://host:3000) or the full base (…/api/v1/nerve): either works.
case "$api" in */api/v1/nerve) ;; *) api="$api/api/v1/nerve" ;; esac
file=$2
dry=${3:-}
[ -r "$file" ] || { echo "cannot read $file" >&2; exit 2; }
auth=()
[ -n "${NERVE_TOKEN:-}" ] && auth=(-H "authorization: Bearer ${NERVE_TOKEN}")

post() {
  local out status
  out=$(mktemp)
  status=$(curl -sS --max-time 120 "${auth[@]}" -H 'content-type: application/json' \
    --data-binary "@$file" -o "$out" -w '%{http_code}' "$api/config/import$1")
  if [ "$status" != 200 ]; then
    echo "restore refused (POST /config/import$1 answered $status): $(head -c 2000 "$out")" >&2
    rm -f "$out"
    exit 1
  fi
  cat "$out"
  rm -f "$out"
}

post '?dryRun=true' >/dev/null
echo "validated $file"
[ "$dry" = --dry-run ] && exit 0
result=$(post '')
# Say what the store now holds: a restore into a store that had lost its data writes every entry.
node -e '
  const r = JSON.parse(process.argv[1]);
  const file = process.argv[2];
  if (r.restored) console.log(`restored ${file} whole into a store that had diverged: ${r.entries} entries, version ${r.version}`);
  else if (r.changes.length === 0) console.log(`no change: the configuration already equals ${file} (version ${r.version})`);
  else console.log(`restored ${file}: ${r.changes.length} entries changed, version ${r.version}`);
' "$result" "$file"
