/**
 * The Domain chart's alert rules run by Prometheus's own rule engine: `promtool test rules` (Debian's
 * prometheus package, installed by hack/install-test-deps.sh) on series shaped like the data plane's, from
 * the PrometheusRule the chart builds. Each case is one the red team showed the rules getting wrong, or its
 * counterpart: slow transfers on a healthy domain, failures hidden by probe traffic, a job failure rate
 * no alert fired for, the first event of a new pod that increase() cannot see.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import type { AlertRule } from './alert-rules';
import { buildDomainChart } from './domain.chart';
import { createDomainContext } from './domain-context';
import { BOOTSTRAP, fullDomain } from './testing/domain-fixtures';

const domain = fullDomain();
const ctx = createDomainContext(domain);
const NS = ctx.namespace;
const NAME = domain.metadata.name;
const prometheusRule = buildDomainChart(domain, { bootstrap: BOOTSTRAP }).find((m) => m.kind === 'PrometheusRule') as unknown as { spec: { groups: { name: string; rules: AlertRule[] }[] } };
const rules = prometheusRule.spec.groups.flatMap((g) => g.rules);

/** Target labels as the ServiceMonitor gives them (job = Service, domain from its label), one pod each. */
const apiPod = `namespace="${NS}",job="${ctx.names.api}",instance="10.0.0.11:9090",domain="${NAME}"`;
const workerPod = `namespace="${NS}",job="${ctx.names.workerMetrics}",instance="10.0.0.21:9090",domain="${NAME}"`;
const MINUTES = 70;

interface Series {
  series: string;
  values: string;
}
/** A counter growing by `perMinute` from 0, one sample a minute. */
const growing = (series: string, perMinute: number, minutes = MINUTES): Series => ({ series, values: `0+${perMinute}x${minutes}` });
/** Samples from minute `from` on (none before: the series does not exist yet), each given explicitly. */
const bornAt = (series: string, from: number, values: number[]): Series => ({ series, values: [...Array(from).fill('_'), ...values].join(' ') });

/** Request histogram of one route: `perMinute` requests a minute, each in the bucket of its `seconds`. */
function requests(route: string, method: string, status: string, perMinute: number, seconds: number): Series[] {
  const buckets = ['0.005', '0.05', '0.5', '2.5', '5', '30', '+Inf'];
  const labels = `${apiPod},route="${route}",method="${method}",status="${status}"`;
  return [
    ...buckets.map((le) => growing(`openpds_http_request_duration_seconds_bucket{${labels},le="${le}"}`, le === '+Inf' || Number(le) >= seconds ? perMinute : 0)),
    growing(`openpds_http_request_duration_seconds_count{${labels}}`, perMinute),
  ];
}
/** Kubelet probes of two API pods' worth and Prometheus scrapes, as a quiet domain sees them. */
const probes = (): Series[] => [...requests('/readyz', 'GET', '200', 24, 0.003), ...requests('/healthz', 'GET', '200', 12, 0.001), ...requests('/metrics', 'GET', '200', 4, 0.01)];
/** Process start times: the API pod up since minute 0, the worker since `workerFrom` (it starts then). */
const processes = (workerFrom = 0): Series[] => [
  { series: `process_start_time_seconds{${apiPod}}`, values: `0x${MINUTES}` },
  bornAt(`openpds_worker_process_start_time_seconds{${workerPod}}`, workerFrom, Array(MINUTES - workerFrom + 1).fill(workerFrom * 60)),
];

/** The alert as promtool reports it: the rule's labels and annotations, the kept namespace and domain. */
function firing(alert: string) {
  const rule = rules.find((r) => r.alert === alert);
  if (!rule) throw new Error(`the chart has no alert ${alert}`);
  return [{ exp_labels: { ...rule.labels, namespace: NS, domain: NAME }, exp_annotations: rule.annotations }];
}
const expect_ = (alertname: string, evalMinutes: number, fires: boolean) => ({ eval_time: `${evalMinutes}m`, alertname, exp_alerts: fires ? firing(alertname) : [] });

const cases: { name: string; input_series: Series[]; alert_rule_test: ReturnType<typeof expect_>[] }[] = [
  {
    // 60 fast calls a minute; 2 part uploads a minute take 4 s on a 4 MB/s uplink, a download 20 s.
    name: 'healthy traffic with slow uploads and downloads: no latency alert',
    input_series: [
      ...probes(),
      ...requests('/v2/file/list', 'POST', '200', 60, 0.02),
      ...requests('/v2/blob/part', 'PUT', '200', 2, 4),
      ...requests('/v2/blob/object_upload', 'PUT', '200', 1, 4),
      ...requests('/v2/file/download', 'GET', '200', 1, 20),
      ...requests('/v2/file/download_link', 'GET', '206', 1, 20),
      ...requests('/v2/blob/object', 'GET', '200', 1, 20),
    ],
    alert_rule_test: [expect_('OpenPDSApiLatencyHigh', 30, false)],
  },
  {
    name: 'API calls themselves slow (5% take 4 s): latency alert',
    input_series: [...probes(), ...requests('/v2/file/list', 'POST', '200', 57, 0.02), ...requests('/v2/file/get', 'POST', '200', 3, 4)],
    alert_rule_test: [expect_('OpenPDSApiLatencyHigh', 30, true)],
  },
  {
    // The red team's case: 3 user calls a minute, 1.2 of them 500s, beside 40 probes and scrapes a minute.
    name: '40% of the users\' calls fail on a quiet domain with probes: error rate alert',
    input_series: [...probes(), ...requests('/v2/file/complete', 'POST', '200', 1.8, 0.02), ...requests('/v2/file/complete', 'POST', '500', 1.2, 0.02)],
    alert_rule_test: [expect_('OpenPDSApiErrorRateHigh', 70, true)],
  },
  {
    name: '1 failed call in 200: no error rate alert',
    input_series: [...probes(), ...requests('/v2/file/list', 'POST', '200', 199, 0.02), ...requests('/v2/file/list', 'POST', '500', 1, 0.02)],
    alert_rule_test: [expect_('OpenPDSApiErrorRateHigh', 70, false)],
  },
  {
    name: '5 jobs a minute fail for good: worker failure alert',
    input_series: [...processes(), growing(`openpds_jobs_failed_total{${workerPod},kind="blob.hash"}`, 5)],
    alert_rule_test: [expect_('OpenPDSWorkerFailures', 10, true), expect_('OpenPDSWorkerFailures', 70, true)],
  },
  {
    name: 'idle: counters at 0, probes only: no alert',
    input_series: [
      ...processes(),
      ...probes(),
      growing(`openpds_jobs_failed_total{${workerPod},kind="blob.hash"}`, 0),
      growing(`openpds_storage_errors_total{${workerPod},operation="put",store="s3"}`, 0),
      growing(`openpds_storage_errors_total{${apiPod},operation="put",store="s3"}`, 0),
    ],
    alert_rule_test: ['OpenPDSApiErrorRateHigh', 'OpenPDSApiLatencyHigh', 'OpenPDSWorkerFailures', 'OpenPDSStorageErrors'].map((alert) => expect_(alert, 60, false)),
  },
  {
    name: 'failures an hour ago in a pod that still runs: no alert now',
    input_series: [...processes(), { series: `openpds_jobs_failed_total{${workerPod},kind="blob.hash"}`, values: `0 2 3x${MINUTES - 2}` }],
    alert_rule_test: [expect_('OpenPDSWorkerFailures', 10, true), expect_('OpenPDSWorkerFailures', 60, false)],
  },
  {
    // The counter's first scrape already shows 1: increase() has nothing before it to compare with.
    name: 'first failure of a new pod, its counter born at 1: alert, resolved 15 minutes on',
    input_series: [...processes(20), bornAt(`openpds_jobs_failed_total{${workerPod},kind="blob.hash"}`, 21, Array(MINUTES - 20).fill(1))],
    alert_rule_test: [expect_('OpenPDSWorkerFailures', 19, false), expect_('OpenPDSWorkerFailures', 22, true), expect_('OpenPDSWorkerFailures', 40, false)],
  },
  {
    name: 'first failure of a new pod, its counter created at 0: alert',
    input_series: [...processes(20), bornAt(`openpds_jobs_failed_total{${workerPod},kind="blob.hash"}`, 20, [0, 0, ...Array(MINUTES - 21).fill(1)])],
    alert_rule_test: [expect_('OpenPDSWorkerFailures', 21, false), expect_('OpenPDSWorkerFailures', 23, true)],
  },
  {
    // A worker started while the store is down: its first scrape shows 2 errors, then 1 a minute.
    name: 'storage errors from the first scrape of a new pod on: alert after 10 minutes',
    input_series: [...processes(20), bornAt(`openpds_storage_errors_total{${workerPod},operation="put",store="s3"}`, 20, Array.from({ length: MINUTES - 19 }, (_, i) => 2 + i))],
    alert_rule_test: [expect_('OpenPDSStorageErrors', 25, false), expect_('OpenPDSStorageErrors', 31, true)],
  },
  {
    name: 'one storage error a retry absorbed: no alert',
    input_series: [...processes(), { series: `openpds_storage_errors_total{${apiPod},operation="put",store="s3"}`, values: `0x30 1x${MINUTES - 31}` }],
    alert_rule_test: [35, 42, 50].map((m) => expect_('OpenPDSStorageErrors', m, false)),
  },
];

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'openpds-promtool-'));
  fs.writeFileSync(path.join(dir, 'rules.yml'), YAML.stringify({ groups: prometheusRule.spec.groups }));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** `promtool test rules` on one case; its output on failure says which alert differed and how. */
function promtoolTest(testCase: (typeof cases)[number]): { status: number | null; output: string } {
  const file = path.join(dir, `${testCase.name.replace(/\W+/g, '-')}.test.yml`);
  fs.writeFileSync(file, YAML.stringify({ rule_files: ['rules.yml'], evaluation_interval: '1m', tests: [{ interval: '1m', ...testCase }] }));
  const run = spawnSync('promtool', ['test', 'rules', file], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
  // No silent skip: without promtool these rules are untested.
  if ((run.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') throw new Error('promtool not found on PATH: run hack/install-test-deps.sh (Debian package prometheus)');
  if (run.error) throw run.error;
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

test('the cases cover every counter and histogram alert', () => {
  const tested = new Set(cases.flatMap((c) => c.alert_rule_test.map((t) => t.alertname)));
  expect(rules.map((r) => r.alert).filter((a) => !tested.has(a))).toEqual(['OpenPDSJobBacklogOld', 'OpenPDSDomainNotReady']);
});

test.each(cases.map((c) => [c.name, c] as const))('%s', (_name, testCase) => {
  expect(promtoolTest(testCase)).toEqual({ status: 0, output: expect.stringContaining('SUCCESS') });
});
