/**
 * Deferred drive deletions in the Kubernetes runtime: when a Domain with pending entries (a
 * `<domain>-deferred-drive-deletes` ConfigMap, drive-deferred-store.ts) is Ready, each entry is finished
 * through its admin API (drive-deferred-finish.ts), reported with an Event on the Domain, counted, and
 * removed; the ConfigMap goes with its last entry.
 *
 * What triggers it, without costing the Domain reconciler anything (a 1,000-Domain fleet counts its
 * requests): a small informer on the labelled ConfigMaps (one list + watch, however many Domains), and
 * the Drive controller's Domain watch, which reports every Domain event here. Work starts when both are
 * known: a Domain turning Ready (or seen Ready at start-up) with a ConfigMap pending, or a ConfigMap
 * appearing (start-up, or a Drive deleted meanwhile) for a Domain that is Ready. A Domain with nothing
 * pending costs nothing, not even a GET. Failures (the admin API down) are retried with backoff while the
 * Domain stays Ready; a restart starts over from the ConfigMaps, so a promise is never lost.
 *
 * Entries belong to one namespace and Domain name: only the Domain of that namespace finishes them (they
 * are signed with its admin Secret, and a Domain of another namespace is another tenant's). A Domain of the
 * same name Ready in another namespace leaves them pending, and a Warning Event on the ConfigMap says so
 * (DeferredDriveDeletesWaiting), naming what O&M can do. An entry whose Domain is back on other storage
 * (drive-deferred-finish.ts OtherStorage) also stays pending, with a Warning Event on the Domain
 * (DeferredDriveDeletePending) naming the entry and how to drop it; it is finished if the Domain runs on
 * the old storage again. Each is reported once per operator process, not at every watch event.
 */
import type { KubernetesListObject, KubernetesObject } from '@kubernetes/client-node' with { 'resolution-mode': 'import' };
import { Counter, type Registry } from 'prom-client';
import { API_VERSION, type Domain } from '../domain-types';
import { findCondition } from '../kube/conditions';
import type { SecondaryWatch } from '../kube/controller';
import type { InformerEvent } from '../kube/informer';
import type { KubeObject } from '../kube/kube-client';
import type { OperatorRuntime } from '../main';
import { finishDeferredDelete } from './drive-deferred-finish';
import { decodeEntries, DEFERRED_DELETES_LABEL, domainOfConfigMap, readDeferredDeleteKey, removeDeferredDelete, type DeferredDeletesConfigMap } from './drive-deferred-store';

/** How long to wait for the Domain controller's cache (what domainAccess reads) to see the Domain Ready. */
const DOMAIN_CACHE_WAIT_MS = 5_000;
const RETRY_MIN_MS = 5_000;
const RETRY_MAX_MS = 5 * 60_000;

export interface DeferredDeletes {
  /** The Drive controller's Domain watch reports every event of every Domain here. */
  domainEvent(domain: KubernetesObject, event: InformerEvent): void;
  /** The informer on the labelled ConfigMaps. */
  watch: SecondaryWatch;
}

const isReady = (o: KubernetesObject) => !o.metadata?.deletionTimestamp && findCondition((o as Domain).status?.conditions, 'Ready')?.status === 'True';
const keyOf = (namespace: string, name: string) => `${namespace}/${name}`;

export function createDeferredDeletes(rt: OperatorRuntime): DeferredDeletes {
  /** ns/domain → the Domain, while it is Ready (as the Drive controller's Domain watch last saw it). */
  const ready = new Map<string, KubeObject>();
  /** ns/domain → its ConfigMap, while one exists. */
  const pending = new Map<string, DeferredDeletesConfigMap>();
  /** ns/domain → a run in progress (and whether to run again after it: something changed meanwhile). */
  const running = new Map<string, { again: boolean }>();
  const failures = new Map<string, number>();
  // Drive uids (entry keys) whose entry this process has finished or dropped. A watch event older than our
  // own removal can bring an entry back into `pending` for a moment: it is removed again, without a second
  // Event or count. A uid is never reused, so this only grows by one per deferred deletion.
  const finishedUids = new Set<string>();
  /** What was already reported (an entry kept pending, a ConfigMap waiting for its namespace's Domain). */
  const reported = new Set<string>();
  const finished = counter(rt);

  /** A Domain of this ConfigMap's name Ready in another namespace: say why nothing happens. */
  async function reportElsewhere(key: string): Promise<void> {
    const configMap = pending.get(key);
    if (!configMap || ready.has(key)) return;
    const [namespace, name] = [key.slice(0, key.indexOf('/')), key.slice(key.indexOf('/') + 1)];
    const elsewhere = [...ready.keys()].find((k) => k !== key && k.slice(k.indexOf('/') + 1) === name);
    if (!elsewhere || reported.has(`${key} ${elsewhere}`)) return;
    reported.add(`${key} ${elsewhere}`);
    const count = Object.keys(configMap.data ?? {}).length;
    const cm = configMap.metadata!.name!;
    await rt.events.record({ ...configMap, apiVersion: 'v1', kind: 'ConfigMap' }, 'Warning', 'DeferredDriveDeletesWaiting',
      `${count} deferred drive deletion${count === 1 ? ' here waits' : 's here wait'} for Domain ${key}, which is not Ready; Domain ${elsewhere} is Ready, but a Domain finishes only the deletions recorded in its own namespace (each entry is signed with that namespace's ${name}-admin Secret). ` +
      `If the Domain moved to namespace ${elsewhere.slice(0, elsewhere.indexOf('/'))} with its storage, delete the drives these entries name (driveId, owner) through its admin API by hand, then kubectl -n ${namespace} delete configmap ${cm}; if Domain ${key} comes back, nothing is to be done`);
  }

  function maybeRun(key: string): void {
    if (!ready.has(key) || !pending.has(key)) return;
    const run = running.get(key);
    if (run) {
      run.again = true;
      return;
    }
    const state = { again: false };
    running.set(key, state);
    void (async () => {
      try {
        do {
          state.again = false;
          await finishPending(key);
        } while (state.again && ready.has(key) && pending.has(key));
        failures.delete(key);
      } catch (error) {
        // The admin API down, or the Domain not yet in the Domain controller's cache: try again later.
        const n = (failures.get(key) ?? 0) + 1;
        failures.set(key, n);
        const retryMs = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** (n - 1));
        rt.config.log?.('warn', 'deferred drive deletions not finished; retrying', { domain: key, retryInMs: retryMs, error: String(error) });
        setTimeout(() => maybeRun(key), retryMs).unref();
      } finally {
        running.delete(key);
      }
    })();
  }

  async function finishPending(key: string): Promise<void> {
    const [namespace, name] = [key.slice(0, key.indexOf('/')), key.slice(key.indexOf('/') + 1)];
    const domain = ready.get(key)!;
    const client = await adminClientOf(rt, namespace, name);
    let configMap: DeferredDeletesConfigMap | undefined = pending.get(key);
    const signing = await readDeferredDeleteKey(rt.client, namespace, name);
    const { entries, invalid, unsigned } = decodeEntries(configMap ?? {}, signing);
    /** Drops an entry no drive is deleted for, said once (finishedUids) however often a stale event brings it back. */
    const drop = async (uid: string, message: string) => {
      if (!finishedUids.has(uid)) {
        await rt.events.record(domain, 'Warning', 'DeferredDriveDeleteSkipped', message);
        finished?.inc({ result: 'invalid' });
        finishedUids.add(uid);
      }
      configMap = await removeDeferredDelete(rt.client, namespace, name, uid);
    };
    for (const uid of invalid) await drop(uid, `entry "${uid}" of ConfigMap ${configMap?.metadata?.name} could not be read (edited by hand?): dropped, no drive deleted`);
    for (const uid of unsigned) await drop(uid, `entry "${uid}" of ConfigMap ${configMap?.metadata?.name} is not signed with the Domain's admin Secret, so the operator did not write it: dropped, no drive deleted`);
    // A Drive that exists is never one whose deletion was deferred (a uid is never given out again): a
    // live list, not a cache that could trail a Drive created a moment ago.
    const live = entries.length ? new Set((await rt.client.list({ apiVersion: API_VERSION, kind: 'Drive', namespace })).items.map((d) => d.metadata?.uid)) : new Set<string | undefined>();
    for (const entry of entries) {
      if (!ready.has(key)) return; // the Domain went away again: the rest waits for its next turn
      if (live.has(entry.uid)) {
        await drop(entry.uid, `entry "${entry.uid}" names Drive ${entry.namespace}/${entry.name}, which exists: dropped, no drive deleted`);
        continue;
      }
      if (!finishedUids.has(entry.uid)) {
        const done = await finishDeferredDelete(client, entry);
        if (done.result === 'OtherStorage') {
          // Kept: dropping it would forget a deletion the old storage still owes.
          if (!reported.has(`${entry.uid} ${done.message}`)) {
            reported.add(`${entry.uid} ${done.message}`);
            const cm = configMap?.metadata?.name ?? `${name}-deferred-drive-deletes`;
            await rt.events.record(domain, 'Warning', 'DeferredDriveDeletePending', `entry "${entry.uid}" of ConfigMap ${cm}: ${done.message}. If that storage is gone for good (or the drive was deleted by hand there), drop the entry: kubectl -n ${namespace} patch configmap ${cm} --type=json -p '[{"op":"remove","path":"/data/${entry.uid}"}]'`);
            finished?.inc({ result: 'pending' });
          }
          continue;
        }
        const reason = done.result === 'Skipped' ? 'DeferredDriveDeleteSkipped' : 'DeferredDriveDeleted';
        await rt.events.record(domain, done.result === 'Skipped' ? 'Warning' : 'Normal', reason, done.message);
        finished?.inc({ result: done.result.toLowerCase() });
        if (done.result !== 'Skipped') rt.domainUsageChanged?.(namespace, name); // a drive went: its usage too
        finishedUids.add(entry.uid);
      }
      configMap = await removeDeferredDelete(rt.client, namespace, name, entry.uid);
    }
    // What is left (added while this ran) comes back as a watch event; keep the cache current meanwhile.
    if (configMap) pending.set(key, configMap);
    else pending.delete(key);
  }

  return {
    domainEvent(domain, event) {
      const key = keyOf(domain.metadata!.namespace!, domain.metadata!.name!);
      if (event === 'delete' || !isReady(domain)) {
        ready.delete(key);
        return;
      }
      const wasReady = ready.has(key);
      ready.set(key, { ...domain, apiVersion: API_VERSION, kind: 'Domain' } as KubeObject);
      if (wasReady) return;
      maybeRun(key);
      for (const other of pending.keys()) if (other !== key) void reportElsewhere(other).catch(() => undefined); // best effort: an Event
    },
    watch: configMapWatch(rt, (configMap, event) => {
      const domain = domainOfConfigMap(configMap);
      if (!domain) return;
      const key = keyOf(configMap.metadata!.namespace!, domain);
      if (event === 'delete' || Object.keys(configMap.data ?? {}).length === 0) pending.delete(key);
      else pending.set(key, configMap);
      maybeRun(key);
      void reportElsewhere(key).catch(() => undefined);
    }),
  };
}

/** The Domain's admin client; the Domain controller's cache may trail the Drive controller's watch a little. */
async function adminClientOf(rt: OperatorRuntime, namespace: string, name: string) {
  for (const deadline = Date.now() + DOMAIN_CACHE_WAIT_MS; ; await new Promise((r) => setTimeout(r, 100))) {
    const access = await rt.domainAccess(namespace, name);
    if (access.state === 'Ready') return access.client;
    if (Date.now() > deadline) throw new Error(`Domain ${namespace}/${name}: ${access.message}`);
  }
}

function configMapWatch(rt: OperatorRuntime, onEvent: (configMap: DeferredDeletesConfigMap, event: InformerEvent) => void): SecondaryWatch {
  const ns = rt.config.namespace;
  const selector = `${DEFERRED_DELETES_LABEL}=true`;
  return {
    path: `/api/v1${ns ? `/namespaces/${ns}` : ''}/configmaps`,
    labelSelector: selector,
    list: () => rt.client.list({ apiVersion: 'v1', kind: 'ConfigMap', ...(ns ? { namespace: ns } : {}) }, { labelSelector: selector }) as unknown as Promise<KubernetesListObject<KubernetesObject>>,
    ownerKeys(configMap, event) {
      onEvent(configMap as DeferredDeletesConfigMap, event);
      return []; // no Drive to wake: the work is the Domain's, done here
    },
  };
}

/**
 * `openpds_operator_deferred_drive_deletes_total{result}`: deleted, gone (nothing left to delete), skipped
 * (the drive is no longer this Drive's), invalid (an entry that could not be read), pending (kept: the
 * Domain came back on other storage; once per entry and process). On the operator's
 * registry when the runtime's metrics have one (they do in `openpds operator`).
 */
function counter(rt: OperatorRuntime): Counter | undefined {
  const registry = (rt.metrics as { registry?: Registry }).registry;
  if (!registry) return undefined;
  const name = 'openpds_operator_deferred_drive_deletes_total';
  return (registry.getSingleMetric(name) as Counter | undefined) ?? new Counter({
    name,
    help: 'Drive deletions deferred while their Domain was gone, finished when it was Ready again, by result (deleted, gone, skipped, invalid), and pending: kept because the Domain came back on other storage (counted once per entry and operator process).',
    labelNames: ['result'],
    registers: [registry],
  });
}
