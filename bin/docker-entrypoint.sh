#!/bin/sh
# The container's entrypoint: `nerve <command> …`. Routers get a smaller V8 young generation unless
# NODE_OPTIONS says otherwise: about 30 % less memory under load for some 10 % more CPU per call
# (npm run bench:router measures both). Control planes keep V8's defaults: their push loop allocates in
# bursts that a small young generation would promote to the old one.
set -eu
if [ "${1:-}" = router ] && [ -z "${NODE_OPTIONS:-}" ]; then
  export NODE_OPTIONS=--max-semi-space-size=2
fi
# What HEALTHCHECK (bin/healthcheck.js) asks depends on the command; /tmp is writable even with a
# read-only root file system (a tmpfs there).
echo "${1:-control-plane}" > /tmp/nerve-role 2>/dev/null || true
exec node "$(dirname "$0")/nerve.js" "$@"
