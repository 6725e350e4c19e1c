/** Validates manifests against the official Kubernetes schemas (see k8s-schema-check.mjs for why a child process). */
import { spawnSync } from 'node:child_process';
import path from 'node:path';

export interface SchemaResult {
  id: string;
  error: string | null;
}

export function validateManifests(manifests: unknown[]): SchemaResult[] {
  const run = spawnSync(process.execPath, [path.join(__dirname, 'k8s-schema-check.mjs')], {
    input: JSON.stringify({ manifests }),
    encoding: 'utf8',
    cwd: path.resolve(__dirname, '../../../..'),
    maxBuffer: 64 * 1024 * 1024,
  });
  if (run.status !== 0) throw new Error(`validate-k8s failed: ${run.stderr}`);
  return (JSON.parse(run.stdout) as { results: SchemaResult[] }).results;
}
