/**
 * Why a Domain's Deployment has no available pods, from the pods themselves. A Deployment's status says
 * only "0 of 1 updated replicas are available"; the reason is on its pods: a container in CrashLoopBackOff
 * with its last words (the data plane writes why it could not start as its termination message: a store
 * another installation claims, a bad setting), an image that cannot be pulled, a Secret key missing at
 * container creation, a pod no node can take. The Domain's Ready message carries the first such reason, so
 * `kubectl get domain` answers what `kubectl describe pod` would.
 *
 * Asked only once a Domain has waited for its replicas a while (POD_DIAGNOSIS_AFTER_MS): a rollout done
 * within it costs no request, so neither does a new Domain whose pods start in time. Nothing here may change
 * from one probe to the next while the trouble stays the same (restart counts, back-off delays, times, the
 * kubelet's alternating ErrImagePull and ImagePullBackOff, a crash-looping container between two exits), or
 * every replicas poll would write the status again.
 */
import type { KubeObject } from '../kube/kube-client';
import { oneLine } from '../kube/readiness';
import { compareCodeUnits } from '../code-unit-order';

/** How long a Domain waits for its replicas before the operator looks at their pods. */
export const POD_DIAGNOSIS_AFTER_MS = 20_000;
/** After a refused pod list (an older ClusterRole without it), how long before the operator asks again. */
export const POD_LIST_RETRY_MS = 5 * 60_000;
/** The most of a container's termination message the Domain's condition carries. */
const MAX_TERMINATION_CHARS = 400;

/** The kubelet alternates these while it retries a pull, ErrImagePull with the registry's error: said as one. */
const PULL_REASONS = new Set(['ErrImagePull', 'ImagePullBackOff', 'InvalidImageName']);
/** A waiting reason whose message is stable and says why (the missing Secret or key). CreateContainerError's
 * names the attempt's container, which changes: said without it. */
const CONFIG_REASON = 'CreateContainerConfigError';
/**
 * A container that last failed longer ago than this is not crash-looping: the kubelet's own reset of its
 * back-off (10 minutes of running). Not its longest back-off (5 minutes): a container restarted after that
 * wait would read as recovered while it runs, and as crash-looping again at its next exit.
 */
const CRASH_LOOP_WINDOW_MS = 10 * 60_000;

interface ContainerStatus {
  name: string;
  image?: string;
  restartCount?: number;
  ready?: boolean;
  started?: boolean;
  state?: { waiting?: { reason?: string; message?: string }; running?: object; terminated?: { exitCode?: number; reason?: string; message?: string } };
  lastState?: { terminated?: { exitCode?: number; reason?: string; message?: string; finishedAt?: string } };
}

export type PodLike = KubeObject & {
  metadata?: { name?: string; deletionTimestamp?: string };
  status?: {
    phase?: string;
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
    initContainerStatuses?: ContainerStatus[];
    containerStatuses?: ContainerStatus[];
  };
};

/** How a container last ended, when that was a failure: its exit code and its last words. */
function lastFailure(c: ContainerStatus): string | undefined {
  const last = c.lastState?.terminated;
  if (!last || last.exitCode === 0) return undefined;
  const words = last.message ? `: ${oneLine(last.message, MAX_TERMINATION_CHARS)}` : last.reason && last.reason !== 'Error' ? ` (${last.reason})` : '';
  return `last exit code ${last.exitCode ?? '?'}${words}`;
}

function containerTrouble(c: ContainerStatus, init: boolean, now: number): string | undefined {
  const what = `${init ? 'init container' : 'container'} ${c.name}`;
  const waiting = c.state?.waiting;
  if (waiting?.reason && PULL_REASONS.has(waiting.reason)) return `${what} cannot pull its image${c.image ? ` ${c.image}` : ''} (kubectl describe pod says why)`;
  if (waiting?.reason === CONFIG_REASON) return `${what} ${waiting.reason}${waiting.message ? `: ${oneLine(waiting.message, MAX_TERMINATION_CHARS)}` : ''}`;
  if (waiting?.reason === 'CreateContainerError') return `${what} CreateContainerError (kubectl describe pod says why)`;
  // CrashLoopBackOff between two runs, running again in between: one wording, so the message holds still.
  // Running again counts only while its last failure is recent: restartCount never resets, and a container
  // that crashed once a month ago and now fails its probe is not crash-looping.
  const failure = lastFailure(c);
  const finishedAt = Date.parse(c.lastState?.terminated?.finishedAt ?? '');
  const recentlyFailed = Number.isFinite(finishedAt) && now - finishedAt < CRASH_LOOP_WINDOW_MS;
  if (failure && (waiting?.reason === 'CrashLoopBackOff' || waiting?.reason === 'RunContainerError' || (c.state?.running && recentlyFailed && c.ready !== true))) {
    return `${what} crash-looping, ${failure}`;
  }
  if (waiting?.reason === 'CrashLoopBackOff' || waiting?.reason === 'RunContainerError') return `${what} ${waiting.reason}`;
  // An init container (migrate) has no readiness probe: running is all it can be, for as long as it takes.
  if (init) return c.state?.running ? `${what} still running` : undefined;
  if (c.state?.running && c.started !== false && c.ready === false) return `${what} running but not ready (its readiness probe, /readyz, fails)`;
  return undefined;
}

function podTroubleOf(pod: PodLike, now: number): string | undefined {
  const status = pod.status ?? {};
  const unscheduled = status.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False');
  if (unscheduled) return `not scheduled${unscheduled.reason ? ` (${unscheduled.reason})` : ''}${unscheduled.message ? `: ${oneLine(unscheduled.message, MAX_TERMINATION_CHARS)}` : ''}`;
  for (const c of status.initContainerStatuses ?? []) {
    const trouble = containerTrouble(c, true, now);
    if (trouble) return trouble;
  }
  for (const c of status.containerStatuses ?? []) {
    const trouble = containerTrouble(c, false, now);
    if (trouble) return trouble;
  }
  return undefined;
}

/**
 * The first pod in trouble (by name, so the answer is stable) and what is wrong with it, with how many
 * more are; undefined when no pod says anything (none created yet, all starting normally). `now` (ms) dates
 * a container's last failure.
 */
export function podTrouble(pods: PodLike[], now: number): string | undefined {
  const troubled = pods
    .filter((p) => !p.metadata?.deletionTimestamp) // old pods going away are no reason
    .map((p) => ({ name: p.metadata?.name ?? '?', trouble: podTroubleOf(p, now) }))
    .filter((p): p is { name: string; trouble: string } => p.trouble !== undefined)
    .sort((a, b) => compareCodeUnits(a.name, b.name));
  if (!troubled.length) return undefined;
  const more = troubled.length > 1 ? ` (and ${troubled.length - 1} more pod${troubled.length > 2 ? 's' : ''})` : '';
  return `pod ${troubled[0]!.name}: ${troubled[0]!.trouble}${more}`;
}

/** The label selector of a component's pods, as `kubectl get pods -l` takes it. */
export function labelSelector(labels: Record<string, string>): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}
