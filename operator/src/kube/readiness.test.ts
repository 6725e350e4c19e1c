import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHttpFetch } from './http-fetch';
import { deploymentReadiness, MAX_ANSWER_CHARS, probeReadyz, READYZ_TIMEOUT_MS, retryAfterMs } from './readiness';

/** A Deployment `acme-api` at generation 2 wanting 3 replicas, its status overridden per case. */
const deployment = (status: Record<string, number>, replicas: number | null = 3) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'acme-api', generation: 2 },
  spec: replicas === null ? {} : { replicas },
  status: { observedGeneration: 2, replicas: 3, updatedReplicas: 3, availableReplicas: 3, ...status },
});

describe('deploymentReadiness (kubectl rollout status semantics)', () => {
  it('is ready once every desired replica is updated and available and no old one is left', () => {
    expect(deploymentReadiness(deployment({}))).toEqual({ ready: true, available: 3, desired: 3, message: 'deployment acme-api successfully rolled out: 3/3 replicas available' });
  });

  it('waits while the controller has not observed the current generation (the status describes the previous spec)', () => {
    const r = deploymentReadiness(deployment({ observedGeneration: 1 }));
    expect(r).toMatchObject({ ready: false, available: 3, desired: 3 });
    expect(r.message).toBe('Waiting for deployment acme-api spec update to be observed (generation 2)');
  });

  it('waits while fewer replicas than desired run the new template, though the old ones are all available', () => {
    const r = deploymentReadiness(deployment({ replicas: 4, updatedReplicas: 1, availableReplicas: 3 }));
    expect(r).toMatchObject({ ready: false, available: 3 });
    expect(r.message).toBe('Waiting for deployment acme-api rollout to finish: 1 out of 3 new replicas have been updated');
  });

  it('waits while old replicas are still running beside all the new ones', () => {
    const r = deploymentReadiness(deployment({ replicas: 4, updatedReplicas: 3, availableReplicas: 4 }));
    expect(r.ready).toBe(false);
    expect(r.message).toBe('Waiting for deployment acme-api rollout to finish: 1 old replicas are pending termination');
  });

  it('fails, as kubectl rollout status does, once the Deployment controller reports the progress deadline exceeded', () => {
    const stuck = deployment({ updatedReplicas: 1, availableReplicas: 2 });
    (stuck.status as Record<string, unknown>).conditions = [
      { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable' },
      { type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: 'ReplicaSet "acme-api-7d9" has timed out progressing.' },
    ];
    expect(deploymentReadiness(stuck)).toEqual({ ready: false, failed: true, available: 2, desired: 3, message: 'deployment acme-api exceeded its progress deadline: ReplicaSet "acme-api-7d9" has timed out progressing.' });
    // Still progressing (the deadline not reached): only waiting.
    (stuck.status as Record<string, unknown>).conditions = [{ type: 'Progressing', status: 'True', reason: 'ReplicaSetUpdated' }];
    expect(deploymentReadiness(stuck)).toMatchObject({ ready: false, message: expect.stringContaining('Waiting for deployment') });
    expect(deploymentReadiness(stuck).failed).toBeUndefined();
  });

  it('waits while updated replicas are not yet available', () => {
    const r = deploymentReadiness(deployment({ availableReplicas: 2 }));
    expect(r).toMatchObject({ ready: false, available: 2, desired: 3 });
    expect(r.message).toBe('Waiting for deployment acme-api rollout to finish: 2 of 3 updated replicas are available');
  });

  it('reads an empty status as nothing rolled out, and a missing spec.replicas (an HPA owns it) as 1', () => {
    expect(deploymentReadiness({ metadata: { name: 'w', generation: 1 }, spec: {}, status: { observedGeneration: 1 } }).message).toBe('Waiting for deployment w rollout to finish: 0 out of 1 new replicas have been updated');
    expect(deploymentReadiness(deployment({ replicas: 1, updatedReplicas: 1, availableReplicas: 1 }, null))).toMatchObject({ ready: true, desired: 1 });
  });

  it('reports a Deployment that does not exist', () => {
    expect(deploymentReadiness(undefined)).toEqual({ ready: false, available: 0, desired: 0, message: 'Deployment not found' });
  });
});

describe('retryAfterMs: a 503\'s Retry-After, bounded', () => {
  it('reads delay-seconds and an HTTP-date, within 1 s and 30 s; nothing for what it cannot read', () => {
    const now = Date.parse('2026-12-06T12:00:00Z');
    expect(retryAfterMs('1', now)).toBe(1000);
    expect(retryAfterMs(' 5 ', now)).toBe(5000);
    expect(retryAfterMs('0', now)).toBe(1000);
    expect(retryAfterMs('86400', now)).toBe(30_000);
    expect(retryAfterMs('Sun, 06 Dec 2026 12:00:10 GMT', now)).toBe(10_000);
    expect(retryAfterMs('Sun, 06 Dec 2026 11:00:00 GMT', now)).toBe(1000);
    for (const bad of [undefined, '', 'soon', '-5', '1.5']) expect(retryAfterMs(bad, now)).toBeUndefined();
  });
});

describe('probeReadyz', () => {
  it('passes on a 503\'s Retry-After, and only a 503\'s', async () => {
    const header = (name: string) => (name === 'retry-after' ? '2' : undefined);
    expect(await probeReadyz(async () => ({ ok: false, status: 503, header }), 'http://x')).toEqual({ ready: false, message: 'http://x/readyz answered 503', retryAfterMs: 2000 });
    expect(await probeReadyz(async () => ({ ok: false, status: 500, header }), 'http://x')).toEqual({ ready: false, message: 'http://x/readyz answered 500' });
  });

  it('is ready on 2xx, not on other statuses or a refused connection', async () => {
    expect(await probeReadyz(async () => ({ ok: true, status: 200 }), 'http://x/')).toEqual({ ready: true, message: 'http://x/readyz answered 200' });
    expect(await probeReadyz(async () => ({ ok: false, status: 503 }), 'http://x')).toEqual({ ready: false, message: 'http://x/readyz answered 503' });
    const refused = Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } });
    expect(await probeReadyz(async () => Promise.reject(refused), 'http://x')).toEqual({ ready: false, message: 'http://x/readyz unreachable: ECONNREFUSED' });
  });

  it('names what an OpenPDS data plane says is wrong (each check not "ok"), e.g. a store another data plane claims', async () => {
    const body = JSON.stringify({ status: 'not ready', database: 'ok', storage: 'ok', storage_claim: 'the blob store is claimed by instance 7f… of domain "owner"' });
    expect(await probeReadyz(async () => ({ ok: false, status: 503, text: async () => body }), 'http://x')).toEqual({
      ready: false,
      message: 'http://x/readyz answered 503: storage_claim: the blob store is claimed by instance 7f… of domain "owner"',
    });
    expect(await probeReadyz(async () => ({ ok: false, status: 503, text: async () => '<html>gateway</html>' }), 'http://x')).toEqual({ ready: false, message: 'http://x/readyz answered 503' });
  });

  it('carries a frozen database as the data plane names it, its status and the failing checks only', async () => {
    const body = JSON.stringify({ status: 'not ready', database: 'timeout', storage: 'ok', storage_claim: 'ok' });
    expect(await probeReadyz(async () => ({ ok: false, status: 503, text: async () => body }), 'http://x')).toEqual({ ready: false, message: 'http://x/readyz answered 503: database: timeout' });
    // An error body's request id differs on every probe: the condition would be rewritten each time.
    const starting = JSON.stringify({ code: 'ServiceUnavailable.Starting', message: 'the server is starting', request_id: 'r-1' });
    expect((await probeReadyz(async () => ({ ok: false, status: 503, text: async () => starting }), 'http://x')).message).toBe('http://x/readyz answered 503: code: ServiceUnavailable.Starting; message: the server is starting');
  });

  it('bounds what the body puts in the message, on one line', async () => {
    const body = JSON.stringify({ status: 'not ready', ...Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`check${i}`, `down\n\u0007${'x'.repeat(1000)}`])) });
    const { message } = await probeReadyz(async () => ({ ok: false, status: 503, text: async () => body }), 'http://x');
    expect(message.startsWith('http://x/readyz answered 503: check0: down x')).toBe(true);
    expect(message.length).toBeLessThanOrEqual('http://x/readyz answered 503: '.length + MAX_ANSWER_CHARS);
    expect(message).toMatch(/…$/);
    expect(message).not.toMatch(/[\u0000-\u001f]/);
  });

  describe('a data plane that does not answer in time', () => {
    let server: Server;
    let url: string;
    beforeAll(async () => {
      // Accepts and never answers, as a data plane stuck on a frozen database did before its own deadline.
      server = createServer(() => undefined);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    });

    it.each([
      ['the operator’s node:http fetch', () => createHttpFetch()],
      ['global fetch', () => fetch as never],
    ])('is a timeout said plainly, with the URL and the limit (%s)', async (_name, make) => {
      expect(await probeReadyz(make(), url, 200)).toEqual({ ready: false, message: `${url}/readyz timed out: no answer within 0.2 s` });
    });

    it('waits longer than the data plane takes to answer for itself (~2 s)', () => {
      expect(READYZ_TIMEOUT_MS).toBeGreaterThanOrEqual(4000);
    });
  });
});
