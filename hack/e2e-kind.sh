#!/usr/bin/env bash
# End to end on a real Kubernetes cluster (kind), checking with kubectl what a user checks after installing:
#
#   1. `kubectl apply -k config/` (plain client-side apply, the README's command) and the operator's
#      rollout (2 replicas).
#   2. Leader election: the Lease openpds-system/openpds-operator is held by one of the operator's pods,
#      that pod's /metrics (read through the apiserver's pod proxy) says openpds_operator_leader 1, and the
#      other pod's says 0.
#   3. `kubectl apply -k examples/quickstart/`: the Domain and then the Drive become Ready (real pods,
#      volume and data plane; the Drive is created through the Domain's admin API).
#   4. The leader's /metrics count successful Domain reconciles.
#   5. Fail-over: the leader pod is deleted; the other replica takes the Lease.
#   6. The Kubernetes API contract suite (test/kube-api/contract) against the cluster.
#   7. `kubectl delete -k examples/quickstart/`: the Domain and Drive go, and of the Domain's children
#      only the data volume's claim and the admin Secret (retained on purpose) are left.
#
# What runs where: the operator e2e tests (test/operator/*.e2e.test.ts) do NOT run here. They need the
# Kubernetes API test server's fault-injection hooks, set Deployment status themselves (no kubelet) and
# start a data plane in the test process for --domain-endpoint; none of that can be pointed at a real
# cluster. They run in `npm test` on every machine, against test/kube-api (and test/operator/
# install.e2e.test.ts covers steps 1-3 and 7 there, with RBAC enforced by a proxy). This script is the
# real-cluster counterpart: it needs Docker, kind and kubectl, which the project's CI machines lack, so it
# is run by hand where they exist:
#
#   hack/e2e-kind.sh            # throwaway cluster
#   hack/e2e-kind.sh --keep     # keep the cluster (KIND_CLUSTER names it) for poking around
set -euo pipefail
cd "$(dirname "$0")/.."

CLUSTER=${KIND_CLUSTER:-openpds-e2e-$$}
IMAGE=${IMAGE:-openpds/openpds:$(node -p "require('./package.json').version")}  # the tag config/ and a Domain default to
KEEP=${1:-}
SYSTEM_NS=openpds-system
for tool in docker kind kubectl; do
  command -v "$tool" >/dev/null || { echo "e2e-kind: $tool is not installed" >&2; exit 1; }
done
KUBECONFIG=$(mktemp /tmp/openpds-e2e-kubeconfig.XXXXXX)
export KUBECONFIG
# Only a cluster this run created is ever deleted: with KIND_CLUSTER naming one that exists (yours), the
# create below fails and the cleanup must not take it down.
CREATED=
cleanup() {
  if [ "$KEEP" = "--keep" ] && [ -n "$CREATED" ]; then return; fi # the kept cluster's kubeconfig stays
  if [ -n "$CREATED" ]; then kind delete cluster --name "$CLUSTER" >/dev/null 2>&1 || true; fi
  rm -f "$KUBECONFIG"
}
trap cleanup EXIT
fail() { echo "e2e-kind: FAILED: $*" >&2; exit 1; }
step() { echo "e2e-kind: $*"; }

# The Lease holder is "<pod name>_<8 hex digits>" (operator/src/main.ts).
lease_holder() { kubectl -n "$SYSTEM_NS" get lease openpds-operator -o 'jsonpath={.spec.holderIdentity}' 2>/dev/null || true; }
pod_metrics() { kubectl get --raw "/api/v1/namespaces/$SYSTEM_NS/pods/$1:9090/proxy/metrics"; }
# Polls "$@" until it succeeds, for up to $1 seconds.
wait_for() {
  local seconds=$1; shift
  for _ in $(seq "$seconds"); do "$@" >/dev/null 2>&1 && return 0; sleep 1; done
  "$@"
}
leader_pod() { local h; h=$(lease_holder); [ -n "$h" ] && echo "${h%_*}"; }
has_leader() { [ -n "$(leader_pod)" ]; }

if kind get clusters 2>/dev/null | grep -qx "$CLUSTER"; then
  echo "e2e-kind: a kind cluster named $CLUSTER exists already; this script creates and deletes its own (unset KIND_CLUSTER, or name a new one)" >&2
  exit 1
fi
kind create cluster --name "$CLUSTER" --kubeconfig "$KUBECONFIG" --wait 120s
CREATED=1
docker build -t "$IMAGE" .
kind load docker-image "$IMAGE" --name "$CLUSTER"

step "1. install with plain client-side apply"
kubectl apply -k config/
kubectl -n "$SYSTEM_NS" rollout status deployment/openpds-operator --timeout=180s

step "2. leader election"
wait_for 60 has_leader || fail "no pod holds Lease $SYSTEM_NS/openpds-operator (the operator logs say why)"
LEADER=$(leader_pod)
PODS=$(kubectl -n "$SYSTEM_NS" get pods -l app.kubernetes.io/name=openpds-operator -o 'jsonpath={.items[*].metadata.name}')
case " $PODS " in *" $LEADER "*) ;; *) fail "Lease holder $LEADER is not one of the operator pods: $PODS" ;; esac
for pod in $PODS; do
  expected=0; [ "$pod" = "$LEADER" ] && expected=1
  pod_metrics "$pod" | grep -qx "openpds_operator_leader $expected" || fail "$pod: /metrics does not say openpds_operator_leader $expected"
done
step "   $LEADER leads; metrics answer on every replica"

step "3. quickstart Domain and Drive Ready"
kubectl apply -k examples/quickstart/
kubectl wait --for=condition=Ready domain/quickstart -n default --timeout=300s
kubectl wait --for=condition=Ready drive/team -n default --timeout=120s
kubectl get domains,drives -A
[ -n "$(kubectl get drive team -n default -o 'jsonpath={.status.driveId}')" ] || fail "Drive team is Ready without a driveId"

step "4. the leader's metrics count Domain reconciles"
pod_metrics "$LEADER" | grep -Eq '^openpds_operator_reconcile_duration_seconds_count\{kind="Domain",result="success"\} [1-9]' || fail "no successful Domain reconcile in $LEADER's /metrics"

step "5. fail-over: delete the leader pod"
kubectl -n "$SYSTEM_NS" delete pod "$LEADER" --wait=false
new_leader() { local p; p=$(leader_pod); [ -n "$p" ] && [ "$p" != "$LEADER" ]; }
wait_for 60 new_leader || fail "the Lease did not move off $LEADER"
step "   $(leader_pod) took over"

step "6. Kubernetes API contract suite against the cluster"
OPENPDS_KUBE_E2E_KUBECONFIG="$KUBECONFIG" node --experimental-vm-modules --disable-warning=ExperimentalWarning node_modules/.bin/jest test/kube-api/contract --runInBand

step "7. delete the quickstart"
kubectl delete -k examples/quickstart/ --wait=true --timeout=180s
[ -z "$(kubectl get domains,drives -A -o name)" ] || fail "Domains or Drives left after delete"
LEFT=$(kubectl get deploy,svc,configmap,secret,pvc,pdb,hpa,ingress,networkpolicy -n default -l openpds.io/domain=quickstart -o name | sort | tr '\n' ' ')
[ "$LEFT" = "persistentvolumeclaim/quickstart-data secret/quickstart-admin " ] || fail "left after delete: $LEFT (expected only the data volume claim and the admin Secret)"
echo "e2e-kind: passed"
