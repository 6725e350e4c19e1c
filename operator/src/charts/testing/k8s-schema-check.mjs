// Validates Kubernetes manifests against the official Kubernetes OpenAPI schemas, compiled to ajv
// validators by the kubernetes-models packages (and @kubernetes-models/prometheus-operator for the
// monitoring.coreos.com kinds). Nothing is downloaded: the schemas ship inside those packages.
// Runs as a child process because those packages are ESM-only and jest (CommonJS here) cannot load them.
// stdin: {"manifests": [...]}  stdout: {"results": [{"id": "Kind/name", "error": "..." | null}]}
import * as k8s from 'kubernetes-models';
import * as prom from '@kubernetes-models/prometheus-operator';

// Both packages export one namespace per API group, camel-cased (networking.k8s.io → networkingK8sIo), then
// one per version; the core group ("v1") is the top-level v1.
function camel(group) {
  return group.split('.').map((part, i) => (i === 0 ? part : part.charAt(0).toUpperCase() + part.slice(1))).join('');
}

function modelFor(apiVersion, kind) {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  if (group === '') return k8s[version]?.[kind];
  const ns = { ...k8s, ...prom }[camel(group)];
  return ns?.[version]?.[kind];
}

let input = '';
process.stdin.on('data', (chunk) => (input += chunk));
process.stdin.on('end', () => {
  const { manifests } = JSON.parse(input);
  const results = manifests.map((m) => {
    const id = `${m.apiVersion}/${m.kind}/${m.metadata?.name}`;
    const Model = modelFor(m.apiVersion ?? '', m.kind ?? '');
    if (!Model) return { id, error: `no schema for ${m.apiVersion} ${m.kind}` };
    try {
      new Model(m).validate();
      return { id, error: null };
    } catch (err) {
      return { id, error: err.message };
    }
  });
  process.stdout.write(JSON.stringify({ results }));
});
