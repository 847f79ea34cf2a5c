#!/usr/bin/env bash
# Deploys Nerve to Kubernetes from deploy/kubernetes/overlays/ENV, with checks around the apply:
#   1. before: kubectl and the overlay render, the cluster answers, the namespace's Secret exists
#      (production keeps it out of git), the server accepts the objects (server-side dry run);
#   2. apply, then wait for every Deployment's rollout;
#   3. after: scripts/health-check.sh through port-forwards to the control plane and a router;
#   4. a failed rollout or check rolls every Deployment that changed back (kubectl rollout undo).
#
# usage: scripts/deploy.sh ENV [--context NAME] [--timeout SECONDS] [--render] [--skip-verify]
#   ENV          dev, staging or production
#   --context    kubectl context (default: the current one)
#   --timeout    seconds to wait for each rollout (default 300)
#   --render     print the manifests and stop (nothing touches a cluster)
#   --skip-verify  no health check after the rollout (no port-forward possible from here)
# Exit codes: 0 deployed, 1 failed (rolled back), 2 refused before anything changed.
set -uo pipefail
# The script's leading comment block, as its usage (nothing after it).
usage_text() { awk 'NR == 1 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$0"; }

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
usage() { usage_text; exit 2; }

[ $# -ge 1 ] || usage
env=$1
shift
context=()
timeout=300
render=false
verify=true
while [ $# -gt 0 ]; do
  case "$1" in
    --context) context=(--context "$2"); shift 2 ;;
    --timeout) timeout=$2; shift 2 ;;
    --render) render=true; shift ;;
    --skip-verify) verify=false; shift ;;
    -h|--help) usage ;;
    *) echo "deploy: unknown argument: $1" >&2; usage ;;
  esac
done
overlay="$root/deploy/kubernetes/overlays/$env"
[ -d "$overlay" ] || { echo "deploy: no overlay \"$env\" (have: $(ls "$root/deploy/kubernetes/overlays" | tr '\n' ' '))" >&2; exit 2; }

step() { printf '\n== %s\n' "$*"; }
refuse() { echo "deploy: refused before any change: $*" >&2; exit 2; }
k() { kubectl "${context[@]}" "$@"; }

command -v kubectl >/dev/null || refuse "kubectl is not installed"
manifests=$(kubectl kustomize "$overlay" 2>&1) || refuse "the overlay does not render: $manifests"
if $render; then
  printf '%s\n' "$manifests"
  exit 0
fi
step "pre-deployment checks ($env)"
namespace=$(awk '/^kind: Namespace/{ns=1} ns && /^  name:/{print $2; exit}' <<<"$manifests")
[ -n "$namespace" ] || refuse "the overlay declares no Namespace"
echo "ok    overlay renders ($(grep -c '^kind:' <<<"$manifests") objects, namespace $namespace)"
version=$(k version --request-timeout=10s -o json 2>&1) || refuse "the cluster does not answer: $(tail -1 <<<"$version")"
echo "ok    cluster answers"
if ! grep -q '^kind: Secret' <<<"$manifests"; then
  k -n "$namespace" get secret nerve-secrets >/dev/null 2>&1 ||
    refuse "secret nerve-secrets is missing in namespace $namespace (docs/DEPLOYMENT.md: create it first)"
  echo "ok    secret nerve-secrets exists"
fi
dry=$(k apply -k "$overlay" --dry-run=server 2>&1) || refuse "the server refuses the objects: $dry"
echo "ok    server-side dry run"

deployments=$(awk '/^kind: Deployment/{d=1} d && /^  name:/{print $2; d=0}' <<<"$manifests")
# Revisions before the apply: a Deployment whose revision moves is one to roll back on failure.
declare -A before=()
for d in $deployments; do
  before[$d]=$(k -n "$namespace" get deployment "$d" -o jsonpath='{.metadata.annotations.deployment\.kubernetes\.io/revision}' 2>/dev/null || true)
done

rollback() {
  echo "deploy: $* — rolling back" >&2
  local failed=0
  for d in $deployments; do
    local now
    now=$(k -n "$namespace" get deployment "$d" -o jsonpath='{.metadata.annotations.deployment\.kubernetes\.io/revision}' 2>/dev/null || true)
    if [ -n "${before[$d]}" ] && [ "$now" != "${before[$d]}" ]; then
      echo "rollback $d: revision $now -> ${before[$d]}"
      k -n "$namespace" rollout undo deployment "$d" --to-revision="${before[$d]}" || failed=1
      k -n "$namespace" rollout status deployment "$d" --timeout="${timeout}s" || failed=1
    fi
  done
  [ $failed = 0 ] && echo "deploy: rolled back" >&2 || echo "deploy: ROLLBACK INCOMPLETE: see kubectl rollout history" >&2
  exit 1
}

step "apply"
k apply -k "$overlay" || rollback "kubectl apply failed"
for d in $deployments; do
  k -n "$namespace" rollout status deployment "$d" --timeout="${timeout}s" || rollback "deployment $d did not become ready within ${timeout}s"
done

if $verify; then
  step "post-deployment verification"
  forwards=()
  cleanup() { for p in "${forwards[@]}"; do kill "$p" 2>/dev/null; done; }
  trap cleanup EXIT
  k -n "$namespace" port-forward service/nerve-control-plane 13000:3000 >/dev/null 2>&1 & forwards+=($!)
  k -n "$namespace" port-forward service/nerve-router 19901:9901 >/dev/null 2>&1 & forwards+=($!)
  for _ in $(seq 1 50); do
    curl -s -o /dev/null http://127.0.0.1:13000/api/v1/nerve/health/live && break
    sleep 0.2
  done
  "$here/health-check.sh" http://127.0.0.1:13000/api/v1/nerve --router http://127.0.0.1:19901 ||
    rollback "post-deployment health check failed"
fi
step "deployed $env to namespace $namespace"
