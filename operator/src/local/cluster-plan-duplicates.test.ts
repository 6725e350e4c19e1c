// Cluster-mode `openpds plan/apply` with one object defined twice: neither definition is applied (the
// first used to be, before the second failed), both are reported, and nothing is pruned meanwhile; an
// apply then writes nothing of the folder.
import { startTestKube, type TestKube } from '../../../test/operator/support/kube';
import { planCluster } from './cluster-plan';

const cm = (value: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings', namespace: 'default' }, data: { value } });
const other = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'other', namespace: 'default' }, data: { value: 'x' } };

describe('planCluster with a duplicated object', () => {
  let kube: TestKube;
  beforeAll(async () => {
    kube = await startTestKube();
  });
  afterAll(() => kube?.close());

  it.each([true, false])('dryRun %s: both definitions are errors and the object is not applied (plan: the rest is planned; apply: nothing is written)', async (dryRun) => {
    const plan = await planCluster({
      client: kube.client,
      documents: [
        { where: 'a.yaml', object: cm('first') },
        { where: 'other.yaml', object: other },
        { where: 'b.yaml', object: cm('second') },
      ],
      namespace: 'default',
      dryRun,
      forceConflicts: false,
      set: { name: `dups-${dryRun}`, namespace: 'default' },
    });
    const errors = plan.entries.filter((e) => e.action === 'error').map((e) => `${e.name}: ${e.message}`);
    expect(errors.sort()).toEqual(['default/settings: also defined in a.yaml: one object, one manifest', 'default/settings: also defined in b.yaml: one object, one manifest']);
    if (dryRun) {
      expect(plan.entries.filter((e) => e.action !== 'error').map((e) => e.name)).toEqual(['default/other']);
      expect(plan.pruneSkipped).toMatch(/could not be read or resolved, so nothing is deleted/);
    } else {
      // An apply writes all of the folder or none of it: the other object waits for the duplicate's fix.
      expect(plan.entries.filter((e) => e.action !== 'error')).toEqual([]);
      expect(plan.refused).toMatch(/^nothing applied: 2 manifests of the folder failed/);
      expect(await kube.client.find({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'default', name: 'other' })).toBeUndefined();
    }
    expect(await kube.client.find({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'default', name: 'settings' })).toBeUndefined();
  });
});
