/**
 * The setting of a Domain e2e suite, made once per file: the Kubernetes API test server with the real CRDs
 * (applied by kubectl) and the suite's namespace, a stand-in for the Domains' data plane (a /readyz stub,
 * or a port where nothing listens), the suite's own manifests, and the operator in this process, started
 * in beforeAll or by the tests. withDomainSuite registers the beforeAll and the afterAll itself; the
 * afterAll undoes whatever was started, in reverse order, even when the setup failed halfway (jest runs
 * afterAll after a failed beforeAll), so a failed start leaves no server or operator holding the worker.
 */
import path from 'node:path';
import { runOperator, type OperatorOptions, type RunningOperator } from '../../../operator/src/main';
import { freePort } from '../../e2e/support/child-server';
import { startTestKube, type TestKube } from './kube';
import { kubectl } from './kubectl';
import { startReadyzStub } from './readyz-stub';
import { createTeardown } from './teardown';

export interface DomainSuiteOptions {
  namespace: string;
  /** The Domains whose data plane (domainEndpoints) is the stand-in; default ['acme']. */
  domains?: string[];
  /**
   * What stands in for the data plane: 'readyz' (default), a stub whose /readyz answers 200; 'refused', a
   * free port where nothing listens, as for pods that never start.
   */
  dataPlane?: 'readyz' | 'refused';
  /** Manifests applied with kubectl after the CRDs and the namespace, before the operator starts. */
  manifests?: string[];
  /** The suite's operator options, over SUITE_OPERATOR_DEFAULTS, for every operator it starts. */
  operator?: Partial<OperatorOptions>;
  /** Start the operator in beforeAll (default); false: the tests start it with startOperator(). */
  startOperator?: boolean;
}

export interface DomainSuite {
  readonly namespace: string;
  readonly kube: TestKube;
  /** The data plane stand-in's URL. */
  readonly endpoint: string;
  /** The operator started last; throws while none has been. */
  readonly operator: RunningOperator;
  /**
   * Starts an operator with the suite's options and `extra` over them; it becomes `operator`. A running one
   * is not stopped first (a test says when an operator process ends); each is stopped at the end.
   */
  startOperator(extra?: Partial<OperatorOptions>): Promise<RunningOperator>;
  /** Stops the operator started last, if there is one. */
  stopOperator(): Promise<void>;
  /** `kubectl apply -f -` of `yaml`. */
  apply(yaml: string): Promise<string>;
}

/**
 * What every Domain suite ran its operator with: no metrics port of its own, no leader election, no
 * Prometheus Operator kinds, a quick backoff and a silent log.
 */
const SUITE_OPERATOR_DEFAULTS = { metricsPort: 0, leaderElect: false, monitoring: false, baseBackoffMs: 100, maxBackoffMs: 1000, log: () => undefined } satisfies Partial<OperatorOptions>;

const CRDS = path.resolve(__dirname, '../../../crds');

/** Registers the suite's beforeAll and afterAll (call it at the top level of a test file) and returns its handles. */
export function withDomainSuite(options: DomainSuiteOptions): DomainSuite {
  const { namespace, domains = ['acme'], dataPlane = 'readyz', manifests = [], startOperator = true } = options;
  let kube: TestKube | undefined;
  let endpoint: string | undefined;
  let operator: RunningOperator | undefined;
  const teardown = createTeardown('withDomainSuite');
  const started = <T>(what: string, value: T | undefined): T => {
    if (value === undefined) throw new Error(`withDomainSuite: ${what} is not started (used outside a test, or its beforeAll failed)`);
    return value;
  };

  const suite: DomainSuite = {
    namespace,
    get kube() {
      return started('the Kubernetes API test server', kube);
    },
    get endpoint() {
      return started('the data plane stand-in', endpoint);
    },
    get operator() {
      return started('an operator', operator);
    },
    async startOperator(extra = {}) {
      const kubeconfig = suite.kube.kubeconfig;
      const domainEndpoints = Object.fromEntries(domains.map((name) => [`${namespace}/${name}`, suite.endpoint]));
      const running = await runOperator({ ...SUITE_OPERATOR_DEFAULTS, kubeconfig, domainEndpoints, ...options.operator, ...extra });
      teardown.add(() => running.stop()); // stop() is idempotent: one a test stopped costs nothing
      operator = running;
      return running;
    },
    async stopOperator() {
      await operator?.stop();
    },
    apply: (yaml) => kubectl(suite.kube.kubeconfig, ['apply', '-f', '-'], yaml),
  };

  beforeAll(async () => {
    // startKubeWithCrds's steps (acme-domain.ts), here so that the server is closed when a later one fails.
    const server = await startTestKube();
    teardown.add(() => server.close());
    kube = server;
    await kubectl(server.kubeconfig, ['apply', '-k', CRDS]);
    await server.createNamespace(namespace);
    if (dataPlane === 'readyz') {
      const stub = await startReadyzStub();
      teardown.add(() => stub.close());
      endpoint = stub.url;
    } else {
      endpoint = `http://127.0.0.1:${await freePort()}`;
    }
    for (const yaml of manifests) await suite.apply(yaml);
    if (startOperator) await suite.startOperator();
  });

  afterAll(async () => {
    kube = endpoint = operator = undefined;
    await teardown.run();
  });

  return suite;
}
