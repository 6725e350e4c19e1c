import fs from 'node:fs';
import path from 'node:path';
import { runApplyCommand } from '../../../operator/src/local/plan-command';
import { startTestKube, type TestKube } from './kube';
import { kubectl } from './kubectl';

const ROOT = path.join(__dirname, '../../..');

/**
 * `openpds apply -f DIR` against the test API server with the CRDs applied, in `namespace`, from a folder
 * of the suite's own (`dir`); registers its beforeAll and afterAll. apply() answers the exit code and the
 * lines printed after the first (the header).
 */
export function withClusterApply(namespace: string) {
  let kube: TestKube | undefined;
  let dir: string | undefined;
  beforeAll(async () => {
    kube = await startTestKube();
    await kubectl(kube.kubeconfig, ['apply', '-k', path.join(ROOT, 'crds')]);
    await kube.createNamespace(namespace);
    dir = path.join(kube.dir, namespace);
    fs.mkdirSync(dir);
  });
  afterAll(async () => {
    await kube?.close();
  });
  return {
    get kube(): TestKube {
      return kube!;
    },
    get dir(): string {
      return dir!;
    },
    async apply(...extra: string[]): Promise<{ code: number; lines: string[] }> {
      const lines: string[] = [];
      const code = await runApplyCommand(['-f', dir!, '--kubeconfig', kube!.kubeconfig, '-n', namespace, ...extra], { out: (l) => lines.push(l), err: (l) => lines.push(l), env: {} });
      return { code, lines: lines.slice(1) };
    },
  };
}
