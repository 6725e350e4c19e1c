/**
 * Why a Domain's Deployment has no available pods, from the pods themselves. A Deployment's status says
 * only "0 of 1 updated replicas are available"; the reason is on its pods: a container in CrashLoopBackOff
 * with its last words (the data plane writes why it could not start as its termination message: a store
 * another installation claims, a bad setting), an image that cannot be pulled, a Secret key missing at
 * container creation, a pod no node can take. The Domain's Ready message carries the first such reason, so
 * `kubectl get domain` answers what `kubectl describe pod` would.
 *
 * Asked only once a Domain has waited for its replicas a while (POD_DIAGNOSIS_AFTER_MS): a rollout that
 * goes well costs no request for it, so neither does a new Domain. Nothing here may change from one probe
 * to the next while the trouble stays the same (restart counts, back-off delays, times), or every replicas
 * poll would write the status again.
 */
import type { KubeObject } from '../kube/kube-client';

/** How long a Domain waits for its replicas before the operator looks at their pods. */
export const POD_DIAGNOSIS_AFTER_MS = 20_000;
/** The most of a container's termination message the Domain's condition carries. */
const MAX_TERMINATION_CHARS = 400;

/** Waiting reasons that stop a container for good until someone acts (the kubelet's own words). */
const STUCK_REASONS = new Set(['CrashLoopBackOff', 'ErrImagePull', 'ImagePullBackOff', 'InvalidImageName', 'CreateContainerConfigError', 'CreateContainerError', 'RunContainerError']);
/** Of those, the ones whose waiting message is stable and says why (the image, the missing key). */
const MESSAGE_SAYS_WHY = new Set(['ErrImagePull', 'ImagePullBackOff', 'InvalidImageName', 'CreateContainerConfigError', 'CreateContainerError']);

interface ContainerStatus {
  name: string;
  ready?: boolean;
  started?: boolean;
  state?: { waiting?: { reason?: string; message?: string }; running?: object; terminated?: { exitCode?: number; reason?: string; message?: string } };
  lastState?: { terminated?: { exitCode?: number; reason?: string; message?: string } };
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

/** One line, control characters gone, at most `max` characters. */
function oneLine(text: string, max: number): string {
  const flat = text.replace(/[\u0000-\u001f\u007f\s]+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

function containerTrouble(c: ContainerStatus): string | undefined {
  const waiting = c.state?.waiting;
  if (waiting?.reason && STUCK_REASONS.has(waiting.reason)) {
    const last = c.lastState?.terminated;
    const why = MESSAGE_SAYS_WHY.has(waiting.reason) && waiting.message ? `: ${oneLine(waiting.message, MAX_TERMINATION_CHARS)}` : '';
    const exit = last ? `, last exit code ${last.exitCode ?? '?'}${last.message ? `: ${oneLine(last.message, MAX_TERMINATION_CHARS)}` : last.reason && last.reason !== 'Error' ? ` (${last.reason})` : ''}` : '';
    return `container ${c.name} ${waiting.reason}${why}${exit}`;
  }
  if (c.state?.running && c.started !== false && c.ready === false) return `container ${c.name} running but not ready (its readiness probe, /readyz, fails)`;
  return undefined;
}

function podTroubleOf(pod: PodLike): string | undefined {
  const status = pod.status ?? {};
  const unscheduled = status.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False');
  if (unscheduled) return `not scheduled${unscheduled.reason ? ` (${unscheduled.reason})` : ''}${unscheduled.message ? `: ${oneLine(unscheduled.message, MAX_TERMINATION_CHARS)}` : ''}`;
  for (const c of [...(status.initContainerStatuses ?? []), ...(status.containerStatuses ?? [])]) {
    const trouble = containerTrouble(c);
    if (trouble) return trouble;
  }
  return undefined;
}

/**
 * The first pod in trouble (by name, so the answer is stable) and what is wrong with it, with how many
 * more are; undefined when no pod says anything (none created yet, all starting normally).
 */
export function podTrouble(pods: PodLike[]): string | undefined {
  const troubled = pods
    .filter((p) => !p.metadata?.deletionTimestamp) // old pods going away are no reason
    .map((p) => ({ name: p.metadata?.name ?? '?', trouble: podTroubleOf(p) }))
    .filter((p): p is { name: string; trouble: string } => p.trouble !== undefined)
    .sort((a, b) => a.name.localeCompare(b.name));
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
