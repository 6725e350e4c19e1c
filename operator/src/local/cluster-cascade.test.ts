/** The order of a cascade's `with it: …` lines: by code unit, whatever the locale (as the folder's files). */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import type { KubeClient } from '../kube/kube-client';
import { describeCascade } from './cluster-cascade';

/** A cluster of two namespaced kinds whose order differs by locale and by code unit ('CS' < 'Co'). */
const NAMESPACE_API: Record<string, unknown> = {
  '/apis': { groups: [{ preferredVersion: { groupVersion: 'storage.k8s.io/v1' } }] },
  '/api/v1': { resources: [{ name: 'configmaps', kind: 'ConfigMap', namespaced: true, verbs: ['list'] }] },
  '/apis/storage.k8s.io/v1': { resources: [{ name: 'csistoragecapacities', kind: 'CSIStorageCapacity', namespaced: true, verbs: ['list'] }] },
  '/api/v1/namespaces/team/configmaps': { items: [{}, {}] },
  '/apis/storage.k8s.io/v1/namespaces/team/csistoragecapacities': { items: [{}] },
};

const fakeClient = (answers: Record<string, unknown>) =>
  ({
    request: async (_method: string, path: string) => {
      if (!(path in answers)) throw new Error(`unexpected GET ${path}`);
      return answers[path];
    },
  }) as unknown as KubeClient;

test("a Namespace's contents are listed in code-unit order (CSIStorageCapacity before ConfigMap), not the locale's", async () => {
  await expect(describeCascade(fakeClient(NAMESPACE_API), 'Namespace', 'team')).resolves.toEqual({ count: 3, lines: ['1 CSIStorageCapacity in team', '2 ConfigMap in team'] });
});

// A CRD's objects per namespace: in Danish `aa` sorts after `z` (å), in code units before it.
const CRD_API: Record<string, unknown> = {
  '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/drives.openpds.io': { spec: { group: 'openpds.io', names: { kind: 'Drive', plural: 'drives' }, versions: [{ name: 'v1alpha1', served: true, storage: true }] } },
  '/apis/openpds.io/v1alpha1/drives': { items: [{ metadata: { namespace: 'z' } }, { metadata: { namespace: 'aa' } }, { metadata: { namespace: 'ch' } }, { metadata: { namespace: 'h' } }] },
};
const CODE_UNIT_ORDER = ['1 Drive in aa', '1 Drive in ch', '1 Drive in h', '1 Drive in z'];

test.each(['da_DK.UTF-8', 'cs_CZ.UTF-8', 'en_US.UTF-8', 'C'])("a CRD's objects per namespace do not follow the locale (LANG=%s)", (lang) => {
  // The locale is read once, when Node starts: a process of its own per locale.
  const script = `require('tsx/cjs');
    const { describeCascade } = require(${JSON.stringify(path.join(__dirname, 'cluster-cascade.ts'))});
    const answers = ${JSON.stringify(CRD_API)};
    const client = { request: async (_m, p) => answers[p] };
    describeCascade(client, 'CustomResourceDefinition.apiextensions.k8s.io', 'drives.openpds.io').then((c) => console.log(JSON.stringify(c.lines)));`;
  const out = execFileSync(process.execPath, ['-e', script], { env: { ...process.env, LANG: lang, LC_ALL: lang }, encoding: 'utf8' });
  expect(JSON.parse(out)).toEqual(CODE_UNIT_ORDER);
});
