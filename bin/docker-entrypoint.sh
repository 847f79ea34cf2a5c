#!/bin/sh
# The container's entrypoint: `nerve <command> …`. Routers get a smaller V8 young generation unless
# NODE_OPTIONS says otherwise: about 30 % less memory under load for some 10 % more CPU per call
# (npm run bench:router measures both). Control planes keep V8's defaults: their push loop allocates in
# bursts that a small young generation would promote to the old one.
set -eu
if [ "${1:-}" = router ] && [ -z "${NODE_OPTIONS:-}" ]; then
  export NODE_OPTIONS=--max-semi-space-size=2
fi
exec node "$(dirname "$0")/nerve.js" "$@"
