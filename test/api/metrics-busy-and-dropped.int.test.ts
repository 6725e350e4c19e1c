/**
 * Two refusals an operator needs to see in /metrics, each from 0 at start (an alert takes rate() of them):
 * 503 ServiceUnavailable.Busy answers by reason (openpds_busy_answers_total; password_checks: every
 * password-check slot taken and the queue full); connections closed unanswered at OPENPDS_MAX_CONNECTIONS
 * (openpds_connections_dropped_total) are counted in connection-limit.int.test.ts. Before, only a log line
 * at most once a minute told of either. PGlite + local disk.
 */
import { CHECKS_AT_ONCE, CHECKS_WAITING } from '../../api-server/src/modules/auth/password-check-slots';
import { BUSY_REASONS } from '../../api-server/src/shared/metrics';
import { startTestServer, type TestServer } from '../support/test-server';

/** A series' value in the text /metrics serves (the registry's, read here without a connection of its own). */
async function metric(server: TestServer, series: string): Promise<number | undefined> {
  const text = await server.deps.metrics.registry.metrics();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('busy answers in /metrics', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer('pglite', 'local');
  });
  afterAll(() => server?.stop());

  it('counts each 503 ServiceUnavailable.Busy answer by its reason', async () => {
    const series = 'openpds_busy_answers_total{reason="password_checks"}';
    const text = await (await fetch(`${server.url}/metrics`)).text();
    // Every reason at 0 from the start, and named in the HELP (metrics-help.test.ts's rule).
    for (const reason of BUSY_REASONS) {
      expect(text).toContain(`openpds_busy_answers_total{reason="${reason}"} 0`);
      expect(/^# HELP openpds_busy_answers_total (.*)$/m.exec(text)?.[1]).toMatch(new RegExp(`\\b${reason}\\b`));
    }
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const held = Array.from({ length: CHECKS_AT_ONCE + CHECKS_WAITING }, () => server.deps.passwordChecks!.run(() => gate));
    try {
      for (let i = 0; i < 3; i++) expect((await server.api.call('/v2/account/login', { username: 'admin', password: 'x' })).status).toBe(503);
    } finally {
      release();
      await Promise.all(held);
    }
    expect(await metric(server, series)).toBe(3);
  });
});
