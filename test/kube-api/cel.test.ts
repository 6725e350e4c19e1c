import { useCrdCluster } from '../operator/support/crd-cluster';
import { kubectl } from '../operator/support/kubectl';

// CRD validation rules (x-kubernetes-validations) on the test server, with the project's real CRDs and the
// real kubectl: what an O&M engineer sees when a spec breaks a rule, on create and on update.
const QUICKSTART = `apiVersion: openpds.io/v1alpha1
kind: Domain
metadata: {name: acme, namespace: default}
spec:
  storage: {mode: standard, volume: {size: 1Gi}}
  apiServer: {replicas: 1}
`;

describe('CEL validation rules of the openpds CRDs', () => {
  const cluster = useCrdCluster('openpds-cel-');
  const { kubeconfig } = cluster;

  it('kubectl apply shows the rule message of a spec that breaks one, and stores nothing', async () => {
    const both = QUICKSTART.replace('volume: {size: 1Gi}}', 'volume: {size: 1Gi}, s3: {bucket: photos}}');
    await expect(kubectl(kubeconfig, ['apply', '-f', '-'], both)).rejects.toThrow(
      'The Domain "acme" is invalid: spec.storage: Invalid value: "object": standard storage needs exactly one of s3 or volume',
    );
    await expect(kubectl(kubeconfig, ['get', 'domain', 'acme'])).rejects.toThrow('NotFound');
  });

  it('a rule on a field that is not set does not run; one on the whole spec does', async () => {
    const noDatabase = QUICKSTART.replace('volume: {size: 1Gi}}', 's3: {bucket: photos}}').replace('apiServer: {replicas: 1}', 'apiServer: {replicas: 2}');
    await expect(kubectl(kubeconfig, ['apply', '-f', '-'], noDatabase)).rejects.toThrow('spec: Invalid value: "object": spec.database is required unless storage.volume is set');
  });

  it('transition rules refuse changing an immutable field, and allow every other change', async () => {
    await kubectl(kubeconfig, ['apply', '-f', '-'], QUICKSTART);
    const hosting = QUICKSTART.replace('{mode: standard, volume: {size: 1Gi}}', '{mode: hosting, hosting: {bucket: customer}}');
    await expect(kubectl(kubeconfig, ['apply', '-f', '-'], hosting)).rejects.toThrow('storage.mode is immutable');
    await expect(kubectl(kubeconfig, ['apply', '-f', '-'], QUICKSTART.replace('replicas: 1', 'replicas: 0'))).resolves.toContain('configured');
    await expect(kubectl(kubeconfig, ['patch', 'domain', 'acme', '--type=merge', '-p', '{"spec":{"domainId":"other"}}'])).rejects.toThrow('domainId cannot be added or removed after creation');
    const stored = JSON.parse(await kubectl(kubeconfig, ['get', 'domain', 'acme', '-o', 'json']));
    expect(stored.spec).toMatchObject({ storage: { mode: 'standard', volume: { size: '1Gi' } }, apiServer: { replicas: 0 } });
    expect(stored.spec.domainId).toBeUndefined();
  });

  it('a status write is not refused by a spec rule (unchanged values are not re-checked)', async () => {
    const res = await fetch(`${cluster.server.url}/apis/openpds.io/v1alpha1/namespaces/default/domains/acme/status`, {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/merge-patch+json' },
      body: JSON.stringify({ status: { observedGeneration: 2 } }),
    });
    expect(res.status).toBe(200);
  });
});
