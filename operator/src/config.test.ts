import { ConfigError, DEFAULT_METRICS_PORT, parseOperatorArgs, resolveLeaseNamespace } from './config';

test('parses every flag, repeatable --domain-endpoint, and both --flag value and --flag=value', () => {
  expect(parseOperatorArgs([])).toEqual({ metricsPort: DEFAULT_METRICS_PORT, leaderElect: false, domainEndpoints: {} });
  expect(
    parseOperatorArgs(['--kubeconfig', '/k', '--namespace=tenants', '--metrics-port', '0', '--leader-elect', '--domain-endpoint', 'tenants/acme=http://127.0.0.1:8080/', '--domain-endpoint=a/b=https://x.example']),
  ).toEqual({ kubeconfig: '/k', namespace: 'tenants', metricsPort: 0, leaderElect: true, domainEndpoints: { 'tenants/acme': 'http://127.0.0.1:8080', 'a/b': 'https://x.example' } });
});

test('--resync-interval, --monitoring and --monitoring-recheck-interval take durations and modes', () => {
  expect(parseOperatorArgs(['--resync-interval', '30m', '--monitoring=false', '--monitoring-recheck-interval', '0'])).toMatchObject({ resyncIntervalMs: 1_800_000, monitoring: false, monitoringRecheckMs: 0 });
  expect(parseOperatorArgs(['--resync-interval=90s', '--monitoring', 'auto', '--monitoring-recheck-interval', '1.5h'])).toMatchObject({ resyncIntervalMs: 90_000, monitoring: 'auto', monitoringRecheckMs: 5_400_000 });
  expect(parseOperatorArgs(['--monitoring', 'true']).monitoring).toBe(true);
});

test('--leader-election-namespace sets the Lease namespace', () => {
  expect(parseOperatorArgs(['--leader-elect', '--leader-election-namespace', 'ops'])).toMatchObject({ leaderElect: true, leaseNamespace: 'ops' });
});

test('the Lease namespace: flag, then POD_NAMESPACE, then the service-account namespace, then the watched one, then default', () => {
  const all = { flag: 'flag', podNamespace: 'pod', serviceAccountNamespace: 'sa\n', watchNamespace: 'watched' };
  expect(resolveLeaseNamespace(all)).toBe('flag');
  expect(resolveLeaseNamespace({ ...all, flag: undefined })).toBe('pod');
  expect(resolveLeaseNamespace({ ...all, flag: undefined, podNamespace: '' })).toBe('sa'); // the file ends without a newline, but trim anyway
  expect(resolveLeaseNamespace({ watchNamespace: 'watched' })).toBe('watched');
  expect(resolveLeaseNamespace({})).toBe('default');
});

test.each([
  [['--leader-election-namespace'], 'needs a value'],
  [['--metrics-port', 'x'], 'expected a port number'],
  [['--domain-endpoint', 'acme=http://x'], 'expected NAMESPACE/NAME=URL'],
  [['--domain-endpoint', 'a/b=ftp://x'], 'http or https'],
  [['--domain-endpoint', 'a/b=not a url'], 'is not a URL'],
  [['--kubeconfig'], 'needs a value'],
  [['--bogus'], 'unknown flag --bogus'],
  [['--resync-interval', '10x'], 'expected a duration'],
  [['--resync-interval', '5s'], 'at least 10s'],
  [['--resync-interval', '-1m'], 'expected a duration'],
  [['--monitoring', 'yes'], 'expected auto, true or false'],
  [['--monitoring-recheck-interval', 'soon'], 'expected a duration'],
])('%j is refused: %s', (argv, message) => {
  expect(() => parseOperatorArgs(argv)).toThrow(ConfigError);
  expect(() => parseOperatorArgs(argv)).toThrow(message);
});
