/**
 * bench/operator-storage-conflict.ts — the operator's storage-conflict check before each Domain apply, at a
 * fleet's size: N Domains (default 10,000) sharing one bucket, each with a prefix of its own (a tenth of
 * them nested inside another's, so real conflicts are found too). No services; CPU only.
 *
 * Figure: the check through the keyspace index (operator/src/reconcilers/domain-keyspaces.ts), fed as the
 * Domain informer feeds it, per check. Baseline (same run): the scan of every Domain the operator used to
 * do (storageConflict against the whole cache), per check, timed over a sample of the checks (each check
 * scans all N, so every check costs the same). Target (set by us): ≤ 0.05×. Also printed: the time to
 * index the N Domains, and what the scan would cost for all N at a cold start (one check per Domain).
 *
 *   npx tsx bench/operator-storage-conflict.ts [--domains 10000] [--sample 500]
 */
import type { KubernetesObject } from '@kubernetes/client-node' with { 'resolution-mode': 'import' };
import type { Domain } from '../operator/src/domain-types';
import { createDomainKeyspaces } from '../operator/src/reconcilers/domain-keyspaces';
import { storageConflict } from '../operator/src/reconcilers/domain-preflight';
import { intFlag } from './lib/args';
import { fmt, info, reportRatio, runBench } from './lib/report';

const N = intFlag('domains', 10_000);
const SAMPLE = Math.min(intFlag('sample', 500), N);

function fleet(): Domain[] {
  const created = (i: number) => new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString();
  return Array.from({ length: N }, (_, i) => {
    const name = `d${String(i).padStart(5, '0')}`;
    // Every tenth Domain inside the one before it: a conflict the check must find.
    const prefix = i % 10 === 9 ? `d${String(i - 1).padStart(5, '0')}/inner/` : `${name}/`;
    return {
      metadata: { name, namespace: `ns${i % 50}`, uid: `uid-${i}`, creationTimestamp: created(i), generation: 1 },
      spec: { storage: { mode: 'standard', s3: { endpoint: 'http://rgw.storage.svc:7480', bucket: 'openpds', prefix } } },
      status: { storage: { endpoint: 'http://rgw.storage.svc:7480', bucket: 'openpds', prefix } },
    } as unknown as Domain;
  });
}

async function main(): Promise<void> {
  const domains = fleet();
  info(`${N} Domains on one bucket, ${N / 10} of them inside another's prefix; the scan timed over ${SAMPLE} checks`);

  // Both ways read each Domain's keyspaces from the same per-object cache (keyspacesOf): warm it first.
  for (const d of domains) storageConflict(d, []);

  const indexStart = performance.now();
  const index = createDomainKeyspaces();
  for (const d of domains) index.watch.ownerKeys(d as unknown as KubernetesObject, 'add', undefined);
  const indexMs = performance.now() - indexStart;

  let found = 0;
  const viaIndexStart = performance.now();
  for (const d of domains) if (storageConflict(d, index.overlapping(d))) found++;
  const viaIndexMs = performance.now() - viaIndexStart;

  let scanned = 0;
  const step = Math.max(1, Math.floor(N / SAMPLE));
  const scanStart = performance.now();
  for (let i = 0; i < N && scanned < SAMPLE; i += step, scanned++) storageConflict(domains[i]!, domains);
  const scanMs = performance.now() - scanStart;

  // The two must agree (on the sample): a faster wrong answer is no answer.
  for (let i = 0; i < N; i += step) {
    const d = domains[i]!;
    if (storageConflict(d, index.overlapping(d)) !== storageConflict(d, domains)) throw new Error(`index and scan disagree on ${d.metadata.name}`);
  }
  if (found !== N / 10) throw new Error(`expected ${N / 10} conflicts, found ${found}`);

  const perIndex = viaIndexMs / N;
  const perScan = scanMs / scanned;
  info(`indexing ${N} Domains: ${fmt(indexMs)} ms; ${found} conflicts found`);
  info(`every Domain checked once (a cold start): index ${fmt(viaIndexMs)} ms, scan ${fmt((perScan * N) / 1000)} s (${fmt(perScan, 3)} ms a check × ${N})`);
  reportRatio({ name: `storage-conflict check among ${N} Domains`, figure: perIndex * 1000, baseline: perScan * 1000, unit: 'µs', op: '<=', target: 0.05, baselineLabel: 'scan of every Domain' });
}

runBench('operator-storage-conflict', main);
