/**
 * The cluster mode of `openpds plan` and `openpds apply`: loads the kubeconfig, runs planCluster and
 * prints a terraform-like plan (or, for apply, what was done). Every failure is a line naming the object
 * and the API server's message; nothing reaches the user as a stack trace.
 */
import path from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node' with { 'resolution-mode': 'import' };
import { createKubeClient } from '../kube/kube-client';
import { parentName } from './cluster-applyset';
import { planCluster, type ClusterAction, type ClusterPlanEntry } from './cluster-plan';
import type { ManifestDocument } from './manifests';
import { describeObjectChange } from './object-diff';

export interface ClusterTarget {
  /** --kubeconfig, else the files of $KUBECONFIG, else ~/.kube/config. */
  kubeconfig?: string;
  context?: string;
  namespace?: string;
  /** The apply set to prune (--set); without one nothing is deleted. */
  setName?: string;
  forceConflicts: boolean;
  /** --prune-cascading: a set's CRDs and Namespaces may be pruned, with all they hold. */
  pruneCascading?: boolean;
}

export interface ClusterRun {
  command: 'plan' | 'apply';
  documents: ManifestDocument[];
  /** Files or documents that could not be parsed, described: each is an error of the run. */
  unreadable: string[];
  target: ClusterTarget;
  env: Record<string, string | undefined>;
  out: (line: string) => void;
  detailedExitCode: boolean;
}

const PLAN_VERB: Record<ClusterAction, string> = { create: '+ create', update: '~ update', unchanged: '= unchanged', delete: '- delete', error: '! error', kept: '? kept' };
const APPLY_VERB: Record<ClusterAction, string> = { create: '+ created', update: '~ updated', unchanged: '= unchanged', delete: '- deleted', error: '! error', kept: '? kept' };

export async function runClusterCommand(run: ClusterRun): Promise<number> {
  const kc = await loadKubeConfig(run.target, run.env);
  if (typeof kc === 'string') {
    run.out(`! error   ${kc}`);
    return 1;
  }
  const contextNamespace = kc.getContextObject(kc.getCurrentContext())?.namespace;
  const namespace = run.target.namespace ?? contextNamespace ?? 'default';
  const client = createKubeClient(kc, { userAgent: 'openpds-cli' });
  const dryRun = run.command === 'plan';
  // The parent lives where the set's namespace-less objects go (-n, else the context's, else default), as
  // kubectl's ApplySet parent does: the same set name from two context namespaces is two sets.
  const set = run.target.setName ? { name: run.target.setName, namespace } : undefined;
  // Which cluster, context and namespace: a run against the wrong one is then plain from its first line.
  const from = run.target.namespace ? '-n' : contextNamespace ? 'the context' : 'the context names none';
  run.out(`Target: cluster ${kc.getCurrentCluster()?.server ?? '?'}, context ${kc.getCurrentContext()}, namespace ${namespace} (${from})${set ? `, apply set ${set.name} (parent ${set.namespace}/${parentName(set)})` : ''}`);
  for (const problem of run.unreadable) run.out(`! error   ${problem}`);
  const { entries, pruneSkipped, notes, refused } = await planCluster({ client, documents: run.documents, ...(set ? { set } : {}), namespace, dryRun, forceConflicts: run.target.forceConflicts, pruneCascading: run.target.pruneCascading ?? false, unreadable: run.unreadable.length });
  const count = (action: ClusterAction) => entries.filter((e) => e.action === action).length;
  for (const entry of entries) for (const line of formatEntry(entry, dryRun ? PLAN_VERB : APPLY_VERB)) run.out(line);
  for (const note of notes ?? []) run.out(`  ${note}`);
  if (pruneSkipped) run.out(`! prune of set ${run.target.setName} skipped: ${pruneSkipped}`);
  if (refused) {
    run.out(`! ${refused}`);
    run.out(`Apply refused: 0 created, 0 changed, 0 deleted, ${count('error') + run.unreadable.length} failed.`);
    return 1;
  }
  if (!set) run.out(`  note: nothing is ${dryRun ? 'planned for deletion' : 'deleted'} without --set NAME (the apply set whose members that left DIR are pruned)`);
  const failed = count('error') + run.unreadable.length;
  const summary = dryRun
    ? `Plan: ${count('create')} to create, ${count('update')} to change, ${count('delete')} to delete`
    : `Apply complete: ${count('create')} created, ${count('update')} changed, ${count('delete')} deleted`;
  run.out(`${summary}${failed ? `, ${failed} failed` : ''}.`);
  if (failed > 0 || pruneSkipped) return 1;
  return dryRun && run.detailedExitCode && count('create') + count('update') + count('delete') > 0 ? 2 : 0;
}

export function formatEntry(entry: ClusterPlanEntry, verbs: Record<ClusterAction, string>): string[] {
  const head = `${verbs[entry.action].padEnd(9)} ${entry.kind} ${entry.name}`;
  const details = (entry.details ?? []).map((line) => `      ${line}`);
  // An error names the file too: the one to fix.
  if (entry.action === 'error' || entry.action === 'kept') return [`${head}${entry.action === 'error' && entry.where && entry.where !== entry.name ? ` (${entry.where})` : ''}: ${entry.message}`, ...details];
  return [entry.message ? `${head} (${entry.message})` : head, ...details, ...entry.changes.map((c) => `      ${describeObjectChange(c)}`)];
}

async function loadKubeConfig(target: ClusterTarget, env: Record<string, string | undefined>): Promise<KubeConfig | string> {
  const k8s = await import('@kubernetes/client-node');
  const kc = new k8s.KubeConfig();
  const files = target.kubeconfig ? [target.kubeconfig] : (env.KUBECONFIG ?? '').split(path.delimiter).filter(Boolean);
  try {
    if (files.length === 0) kc.loadFromDefault();
    for (const [i, file] of files.entries()) {
      if (i === 0) kc.loadFromFile(file);
      else {
        const more = new k8s.KubeConfig();
        more.loadFromFile(file);
        kc.mergeConfig(more, true);
      }
    }
  } catch (error) {
    return `cannot load the kubeconfig (${files.join(path.delimiter) || 'default'}): ${(error as Error).message}`;
  }
  if (target.context) {
    if (!kc.getContextObject(target.context)) return `the kubeconfig has no context "${target.context}" (it has: ${kc.getContexts().map((c) => c.name).join(', ') || 'none'})`;
    kc.setCurrentContext(target.context);
  }
  if (!kc.getCurrentCluster()) return 'the kubeconfig names no current cluster (give --context)';
  return kc;
}
