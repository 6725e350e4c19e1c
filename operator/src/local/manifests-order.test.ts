/** The order a folder's files are read in, so the order of a plan: kubectl's, whatever the locale. */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readManifestDocuments } from './manifests';

const configMap = (name: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${name}}\n`;
const FILES = ['aa.yaml', 'B.yaml', 'z.yaml', 'ch.yaml', 'h.yaml', '_x.yaml', 'a.yaml'];
// Go's lexical order (kubectl apply -f DIR walks the folder so): by code unit.
const KUBECTL_ORDER = ['B.yaml', '_x.yaml', 'a.yaml', 'aa.yaml', 'ch.yaml', 'h.yaml', 'z.yaml'];

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'openpds-manifest-order-'));
  for (const file of FILES) fs.writeFileSync(path.join(dir, file), configMap(file.replace(/\W|_/g, '').toLowerCase() || 'x'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test('files are read in code-unit order, as kubectl reads them', () => {
  expect(readManifestDocuments(dir).objects.map((o) => o.where)).toEqual(KUBECTL_ORDER);
});

test.each(['da_DK.UTF-8', 'cs_CZ.UTF-8', 'en_US.UTF-8', 'C'])('the order does not follow the locale (LANG=%s)', (lang) => {
  // The locale is read once, when Node starts: a process of its own per locale.
  const script = `require('tsx/cjs'); const { readManifestDocuments } = require(${JSON.stringify(path.join(__dirname, 'manifests.ts'))}); console.log(JSON.stringify(readManifestDocuments(${JSON.stringify(dir)}).objects.map((o) => o.where)));`;
  const out = execFileSync(process.execPath, ['-e', script], { env: { ...process.env, LANG: lang, LC_ALL: lang }, encoding: 'utf8' });
  expect(JSON.parse(out)).toEqual(KUBECTL_ORDER);
});
