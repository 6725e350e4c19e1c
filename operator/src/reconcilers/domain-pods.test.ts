// What a Domain waiting for its replicas says about their pods: each status below is shaped as the kubelet
// and the scheduler write it (kubectl get pod -o yaml), reasons and messages in their words.
import { labelSelector, podTrouble, type PodLike } from './domain-pods';

const NOW = Date.parse('2026-12-07T10:00:00Z');
/** What the Domain says of these pods at NOW. */
const podTroubleAtNow = (pods: PodLike[]) => podTrouble(pods, NOW);

const pod = (name: string, status: PodLike['status'], extra: Partial<NonNullable<PodLike['metadata']>> = {}): PodLike => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, ...extra }, status });

const CLAIM_REFUSED = 'StorageClaim.HeldByOther: openpds: invalid configuration: the blob store s3://openpds/acme/ is claimed by instance 7f3 of domain "old"';

const crashLooping = (name: string, backoff = '5m0s') =>
  pod(name, {
    phase: 'Running',
    containerStatuses: [
      {
        name: 'api',
        ready: false,
        started: false,
        state: { waiting: { reason: 'CrashLoopBackOff', message: `back-off ${backoff} restarting failed container=api pod=${name}_prod(uid)` } },
        lastState: { terminated: { exitCode: 1, reason: 'Error', message: CLAIM_REFUSED, finishedAt: '2026-12-07T09:59:30Z' } },
      },
    ],
  });

test('a crash loop says the container, the exit code and its termination message, and not the back-off that grows', () => {
  expect(podTroubleAtNow([crashLooping('acme-api-7d9-x2')])).toBe(`pod acme-api-7d9-x2: container api crash-looping, last exit code 1: ${CLAIM_REFUSED}`);
  expect(podTroubleAtNow([crashLooping('acme-api-7d9-x2', '10s')])).toBe(podTroubleAtNow([crashLooping('acme-api-7d9-x2', '5m0s')]));
});

test('between two exits (running again, not ready) a crash loop reads the same, so no status is written for it', () => {
  const between = pod('acme-api-7d9-x2', {
    phase: 'Running',
    containerStatuses: [{ name: 'api', ready: false, started: false, restartCount: 5, state: { running: {} }, lastState: { terminated: { exitCode: 1, reason: 'Error', message: CLAIM_REFUSED, finishedAt: '2026-12-07T09:59:50Z' } } }],
  });
  expect(podTroubleAtNow([between])).toBe(podTroubleAtNow([crashLooping('acme-api-7d9-x2')]));
});

test('without a termination message, the exit code and the reason when it says more than Error', () => {
  const oom = pod('p', { containerStatuses: [{ name: 'worker', state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: { terminated: { exitCode: 137, reason: 'OOMKilled' } } }] });
  expect(podTroubleAtNow([oom])).toBe('pod p: container worker crash-looping, last exit code 137 (OOMKilled)');
  const noLastState = pod('p', { containerStatuses: [{ name: 'worker', state: { waiting: { reason: 'CrashLoopBackOff' } } }] });
  expect(podTroubleAtNow([noLastState])).toBe('pod p: container worker CrashLoopBackOff');
});

test('an image that cannot be pulled is one message whichever of its two states the kubelet shows; a missing Secret key says why', () => {
  const pulling = (reason: string, message: string) => pod('p', { phase: 'Pending', containerStatuses: [{ name: 'api', image: 'openpds/openpds:9.9.9', state: { waiting: { reason, message } } }] });
  const said = 'pod p: container api cannot pull its image openpds/openpds:9.9.9 (kubectl describe pod says why)';
  expect(podTroubleAtNow([pulling('ImagePullBackOff', 'Back-off pulling image "openpds/openpds:9.9.9"')])).toBe(said);
  expect(podTroubleAtNow([pulling('ErrImagePull', 'rpc error: code = NotFound desc = failed to pull and unpack image "docker.io/openpds/openpds:9.9.9": not found')])).toBe(said);
  const config = pod('p', { phase: 'Pending', containerStatuses: [{ name: 'api', state: { waiting: { reason: 'CreateContainerConfigError', message: "couldn't find key url in Secret prod/acme-db" } } }] });
  expect(podTroubleAtNow([config])).toBe("pod p: container api CreateContainerConfigError: couldn't find key url in Secret prod/acme-db");
});

test('a pod no node can take says the scheduler\'s message', () => {
  const pending = pod('p', { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/3 nodes are available: 3 Insufficient memory.' }] });
  expect(podTroubleAtNow([pending])).toBe('pod p: not scheduled (Unschedulable): 0/3 nodes are available: 3 Insufficient memory.');
});

test('running but not ready is said as such; starting normally, terminating or no pods say nothing', () => {
  const unready = pod('p', { phase: 'Running', containerStatuses: [{ name: 'api', ready: false, started: true, state: { running: {} } }] });
  expect(podTroubleAtNow([unready])).toBe('pod p: container api running but not ready (its readiness probe, /readyz, fails)');
  const creating = pod('q', { phase: 'Pending', containerStatuses: [{ name: 'api', state: { waiting: { reason: 'ContainerCreating' } } }] });
  const starting = pod('r', { phase: 'Running', containerStatuses: [{ name: 'api', ready: false, started: false, state: { running: {} } }] });
  const terminating: PodLike = { ...crashLooping('old'), metadata: { name: 'old', deletionTimestamp: '2026-12-07T08:00:00Z' } };
  expect(podTroubleAtNow([creating, starting, terminating])).toBeUndefined();
  expect(podTroubleAtNow([])).toBeUndefined();
});

test('running again after a failure long ago is not a crash loop (restartCount never resets): said as not ready', () => {
  const recovered = (finishedAt: string) =>
    pod('p', { phase: 'Running', containerStatuses: [{ name: 'api', ready: false, started: true, restartCount: 1, state: { running: {} }, lastState: { terminated: { exitCode: 1, message: 'database unreachable', finishedAt } } }] });
  expect(podTroubleAtNow([recovered('2026-11-07T10:00:00Z')])).toBe('pod p: container api running but not ready (its readiness probe, /readyz, fails)');
  expect(podTroubleAtNow([recovered('2026-12-07T09:58:00Z')])).toBe('pod p: container api crash-looping, last exit code 1: database unreachable');
  // Restarted after the kubelet's longest back-off (5 min) and running for a while: the same crash loop, not a
  // "not ready" that flips back at its next exit.
  expect(podTroubleAtNow([recovered('2026-12-07T09:54:50Z')])).toBe('pod p: container api crash-looping, last exit code 1: database unreachable');
});

test("CreateContainerError's message names each attempt's container: its reason only, so the message holds still", () => {
  const failing = (attempt: number) =>
    pod('p', { phase: 'Pending', containerStatuses: [{ name: 'api', state: { waiting: { reason: 'CreateContainerError', message: `Error: failed to create containerd container: name "k8s_api_p_ns_uid_${attempt}" is reserved` } } }] });
  expect(podTroubleAtNow([failing(1)])).toBe('pod p: container api CreateContainerError (kubectl describe pod says why)');
  expect(podTroubleAtNow([failing(2)])).toBe(podTroubleAtNow([failing(1)]));
});

test('an init container (migrate) still running is said as such, never as a failing readiness probe it does not have; one that failed says how', () => {
  const migrating = pod('p', { phase: 'Pending', initContainerStatuses: [{ name: 'migrate', ready: false, state: { running: {} } }], containerStatuses: [{ name: 'api', ready: false, state: { waiting: { reason: 'PodInitializing' } } }] });
  expect(podTroubleAtNow([migrating])).toBe('pod p: init container migrate still running');
  const failed = pod('p', {
    phase: 'Pending',
    initContainerStatuses: [{ name: 'migrate', ready: false, restartCount: 2, state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: { terminated: { exitCode: 1, message: 'InvalidConfiguration: openpds: invalid configuration: OPENPDS_DATABASE_URL …' } } }],
  });
  expect(podTroubleAtNow([failed])).toBe('pod p: init container migrate crash-looping, last exit code 1: InvalidConfiguration: openpds: invalid configuration: OPENPDS_DATABASE_URL …');
  const done = pod('p', { phase: 'Running', initContainerStatuses: [{ name: 'migrate', ready: true, state: { terminated: { exitCode: 0 } } }], containerStatuses: [{ name: 'api', ready: true, started: true, state: { running: {} } }] });
  expect(podTroubleAtNow([done])).toBeUndefined();
});

test('the first pod in trouble by name, whatever order they are listed in, and how many more', () => {
  const pods = [crashLooping('acme-api-b'), pod('acme-api-c', {}), crashLooping('acme-api-a'), crashLooping('acme-api-d')];
  expect(podTroubleAtNow(pods)).toBe(`pod acme-api-a: container api crash-looping, last exit code 1: ${CLAIM_REFUSED} (and 2 more pods)`);
  expect(podTroubleAtNow([...pods].reverse())).toBe(podTroubleAtNow(pods));
});

test('a long termination message is cut to one line of at most 400 characters', () => {
  const long = crashLooping('p');
  long.status!.containerStatuses![0]!.lastState!.terminated!.message = `first line\n${'x'.repeat(1000)}`;
  const said = podTroubleAtNow([long])!;
  expect(said).not.toContain('\n');
  expect(said).toMatch(/last exit code 1: first line x+…$/);
  expect(said.length).toBeLessThan('pod p: container api crash-looping, last exit code 1: '.length + 401);
});

test('the label selector is what kubectl get pods -l takes', () => {
  expect(labelSelector({ 'app.kubernetes.io/name': 'openpds', 'app.kubernetes.io/instance': 'acme', 'app.kubernetes.io/component': 'api-server' })).toBe(
    'app.kubernetes.io/name=openpds,app.kubernetes.io/instance=acme,app.kubernetes.io/component=api-server',
  );
});
