/**
 * A login throttle that starts refusing a user from an address says so once in the server's log, naming
 * the user and the address (never the password): the red team's password-guessing client left only
 * anonymous 401s and 429s behind. The throttle could log since b9eb52f; the auth service now gives it the
 * server's logger.
 */
import { startTestServer, type TestServer } from '../support/test-server';

describe('the login throttle in the log', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer('pglite', 'local');
  });
  afterAll(() => server?.stop());

  it('warns once, naming the user and the address, when it starts refusing; the password is not in it', async () => {
    const warnings: { fields: Record<string, unknown>; msg?: string }[] = [];
    const warn = jest.spyOn(server.deps.logger, 'warn').mockImplementation(((fields: Record<string, unknown>, msg?: string) => void warnings.push({ fields, msg })) as never);
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 12; i++) {
        const res = await fetch(`${server.url}/v2/account/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-forwarded-for': '198.51.100.9' },
          body: JSON.stringify({ username: 'admin', password: `guess-number-${i}` }),
        });
        statuses.push(res.status);
      }
      expect(statuses.slice(0, 10).every((s) => s === 401)).toBe(true);
      expect(statuses.slice(10)).toEqual([429, 429]);
      const trips = warnings.filter((w) => /too many failed password attempts/.test(w.msg ?? ''));
      expect(trips).toHaveLength(1);
      expect(trips[0]!.fields).toMatchObject({ address: '198.51.100.9', retry_in_seconds: expect.any(Number) });
      expect(trips[0]!.fields.user_id ?? trips[0]!.fields.user_name).toBeTruthy();
      expect(JSON.stringify(trips)).not.toContain('guess-number');
    } finally {
      warn.mockRestore();
    }
  });
});
