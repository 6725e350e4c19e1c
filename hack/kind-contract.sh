#!/usr/bin/env bash
# Runs the Kubernetes API contract suite (test/kube-api/contract) against a real cluster instead of the
# in-process test server, to check that the test server and a real kube-apiserver agree.
#
# It cannot run on the project's CI machines (no container engine there). Where Docker or Podman and kind
# exist:
#
#   hack/kind-contract.sh                 # creates a throwaway kind cluster, runs the suite, deletes it
#   KIND_CLUSTER=mine hack/kind-contract.sh --keep   # reuse/keep a named cluster
#
# By hand, against any cluster you are allowed to scribble on (the suite creates the cluster-scoped CRD
# widgets.contract.openpds.io and namespaces named contract-<random>, which it deletes):
#
#   kind create cluster --name openpds-contract
#   kind get kubeconfig --name openpds-contract > /tmp/kind.kubeconfig
#   OPENPDS_KUBE_E2E_KUBECONFIG=/tmp/kind.kubeconfig npx jest test/kube-api/contract
#
# Tests that need the test server's fault-injection hooks (forced 410, injected 429/500, bookmarks on a
# short interval) are skipped against a real cluster; everything else runs unchanged.
set -euo pipefail
cd "$(dirname "$0")/.."

CLUSTER=${KIND_CLUSTER:-openpds-contract-$$}
KEEP=${1:-}
command -v kind >/dev/null || { echo "kind-contract: kind is not installed (https://kind.sigs.k8s.io)" >&2; exit 1; }
KUBECONFIG_FILE=$(mktemp /tmp/openpds-kind-kubeconfig.XXXXXX)
cleanup() {
  rm -f "$KUBECONFIG_FILE"
  if [ "$KEEP" != "--keep" ]; then kind delete cluster --name "$CLUSTER" >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT

if ! kind get clusters 2>/dev/null | grep -qx "$CLUSTER"; then
  kind create cluster --name "$CLUSTER" --wait 120s
fi
kind get kubeconfig --name "$CLUSTER" >"$KUBECONFIG_FILE"
OPENPDS_KUBE_E2E_KUBECONFIG="$KUBECONFIG_FILE" npx jest test/kube-api/contract --runInBand "${@:2}"
