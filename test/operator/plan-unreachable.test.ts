/**
 * `openpds plan/apply --endpoint` against a domain that gives no answer: the run asks it once, not once per
 * Drive. Each Drive logged in anew, so a data plane behind a firewall that drops packets cost every Drive
 * (and the --set listing) its own 10 s timeout before the plan said anything.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { runApplyCommand, runPlanCommand } from '../../operator/src/local/plan-command';

const drive = (name: string) => `apiVersion: openpds.io/v1alpha1
kind: Drive
metadata: {name: ${name}}
spec:
  domainRef: {name: quickstart}
  owner: {kind: Group, name: ${name}}
`;

let dir: string;
let server: net.Server;
let connections = 0;
let url: string;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'openpds-plan-unreachable-'));
  fs.writeFileSync(path.join(dir, 'drives.yaml'), ['a', 'b', 'c', 'd'].map(drive).join('---\n'));
  // Answers no HTTP at all: the login fails at once, as a blackholed port does after the client's 10 s.
  server = net.createServer((socket) => {
    connections++;
    socket.end('SSH-2.0-OpenSSH_9.2\r\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
});
afterAll(() => {
  server.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test.each([
  ['plan', runPlanCommand],
  ['apply', runApplyCommand],
])('%s asks a domain that gives no answer once, and says so for every Drive', async (_name, command) => {
  connections = 0;
  const lines: string[] = [];
  const code = await command(['-f', dir, '--endpoint', `quickstart=${url}`, '--set', 'team'], { out: (l) => lines.push(l), err: (l) => lines.push(l), env: { OPENPDS_ADMIN_PASSWORD: 'p' }, upStateDir: path.join(dir, 'no-up') });
  expect(code).toBe(1);
  const errors = lines.filter((l) => l.startsWith('! error   Drive'));
  expect(errors).toHaveLength(4);
  for (const line of errors) expect(line).toContain(`AdminApiUnreachable: ${url}/v2/account/login: `);
  expect(connections).toBe(1);
});
