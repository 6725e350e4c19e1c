/**
 * Red-team finding: with proof v2 off (the default), a user calling file/create with the SHA-1 of each
 * guess of another user's file got the same answer for right and wrong guesses, but the public /metrics
 * counted a wrong guess as `miss` and the right one as `proof_rejected`: a whole-file existence oracle
 * (/tmp/redobs/rapid-oracle.mjs). Both must now change every openpds_ series alike. PGlite and PostgreSQL.
 */
import { createHash, randomBytes } from 'node:crypto';
import { serverWithUser, createLoggedInUser, type ApiClient, type LoggedInUser, type TestServer } from '../support/test-server';

const sha1 = (b: Buffer) => createHash('sha1').update(b).digest('hex');

/** openpds_ samples, less what measures time (histogram buckets and sums) or moves on its own (job gauges). */
async function counters(url: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^(openpds_\w+)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!m || /_(bucket|sum)$/.test(m[1]!) || m[1]!.startsWith('openpds_jobs_')) continue;
    out.set(`${m[1]}${m[2] ?? ''}`, Number(m[3]));
  }
  return out;
}

const delta = (before: Map<string, number>, after: Map<string, number>) =>
  Object.fromEntries([...after].filter(([k, v]) => v !== (before.get(k) ?? 0)).map(([k, v]) => [k, v - (before.get(k) ?? 0)]));

describe.each(['pglite', 'pg'] as const)('rapid upload on %s: /metrics tells no stored content apart', (dbKind) => {
  let server: TestServer;
  let api: ApiClient;
  let owner: LoggedInUser;
  serverWithUser(dbKind, 'local', `oracle-owner-${dbKind}`, (ready) => ({ server, api, user: owner } = ready));

  it("counts a non-holder's right guess exactly as a wrong one", async () => {
    const letter = (pin: string) => Buffer.from(`Dear owner, your new PIN is ${pin}. Keep it safe.\n`);
    const secret = letter('4711');
    const stored = await api.ok('/v2/file/create', {
      drive_id: owner.default_drive_id, parent_file_id: 'root', name: 'letter.txt', type: 'file', size: secret.length,
      content_hash: sha1(secret), content_hash_name: 'sha1',
    }, owner.access_token);
    expect((await fetch(stored.part_info_list[0].upload_url, { method: 'PUT', body: secret })).status).toBeLessThan(300);
    await api.ok('/v2/file/complete', { drive_id: owner.default_drive_id, file_id: stored.file_id, upload_id: stored.upload_id }, owner.access_token);
    await server.services.jobs.drain();

    const guesser = await createLoggedInUser(api, `oracle-guesser-${dbKind}`);
    const guess = async (content: Buffer) => {
      const before = await counters(api.url);
      const answer = await api.ok('/v2/file/create', {
        drive_id: guesser.default_drive_id, parent_file_id: 'root', name: `guess-${randomBytes(3).toString('hex')}`, type: 'file',
        size: content.length, content_hash: sha1(content), content_hash_name: 'sha1', proof_code: '', proof_version: 'v1',
      }, guesser.access_token);
      return { delta: delta(before, await counters(api.url)), answer: { rapid_upload: answer.rapid_upload, status: answer.status, parts: answer.part_info_list?.length } };
    };
    const wrong = await guess(letter('1234'));
    const right = await guess(secret);
    expect(wrong.delta).toMatchObject({ 'openpds_rapid_upload_total{result="miss"}': 1 });
    expect(wrong.answer).toEqual({ rapid_upload: false, status: 'uploading', parts: 1 });
    expect(right).toEqual(wrong);
  });
});
