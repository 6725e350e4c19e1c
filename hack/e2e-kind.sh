#!/usr/bin/env bash
# End to end on a real Kubernetes cluster (kind): build the image, load it, install the operator, apply the
# quickstart, wait for the Domain and the Drive to be Ready, run the Kubernetes contract suite against the
# cluster, delete the cluster.
#
# It cannot run on the project's CI machines (no container engine, no kind, no kube-apiserver there); CI
# runs the same operator e2e tests against the Kubernetes API test server in test/kube-api instead
# (test/operator/*.e2e.test.ts). Where Docker and kind exist:
#
#   hack/e2e-kind.sh            # throwaway cluster
#   hack/e2e-kind.sh --keep     # keep the cluster (KIND_CLUSTER names it) for poking around
set -euo pipefail
cd "$(dirname "$0")/.."

CLUSTER=${KIND_CLUSTER:-openpds-e2e-$$}
IMAGE=${IMAGE:-openpds/openpds:0.1.0}
KEEP=${1:-}
for tool in docker kind kubectl; do
  command -v "$tool" >/dev/null || { echo "e2e-kind: $tool is not installed" >&2; exit 1; }
done
KUBECONFIG=$(mktemp /tmp/openpds-e2e-kubeconfig.XXXXXX)
export KUBECONFIG
cleanup() {
  if [ "$KEEP" != "--keep" ]; then kind delete cluster --name "$CLUSTER" >/dev/null 2>&1 || true; rm -f "$KUBECONFIG"; fi
}
trap cleanup EXIT

kind create cluster --name "$CLUSTER" --kubeconfig "$KUBECONFIG" --wait 120s
docker build -t "$IMAGE" .
kind load docker-image "$IMAGE" --name "$CLUSTER"

# Server-side: the CRDs' descriptions exceed the annotation size client-side apply keeps.
kubectl apply --server-side -k config/
kubectl -n openpds-system rollout status deployment/openpds-operator --timeout=180s

kubectl apply -k examples/quickstart/
kubectl wait --for=condition=Ready domains --all -A --timeout=300s
kubectl wait --for=condition=Ready drives --all -A --timeout=120s
kubectl get domains,drives -A

OPENPDS_KUBE_E2E_KUBECONFIG="$KUBECONFIG" npx jest test/kube-api/contract

kubectl delete -k examples/quickstart/ --wait=true --timeout=180s
echo "e2e-kind: passed"
