/**
 * The operator's one typed configuration, parsed from command-line flags (`openpds operator …`,
 * `npm run operator -- …`) and validated up front: the first invalid flag is a clear error, never a
 * half-started operator.
 */
import { parseDurationMs } from './duration';

export interface OperatorConfig {
  /** Kubeconfig file; absent: in-cluster service account, else $KUBECONFIG / ~/.kube/config. */
  kubeconfig?: string;
  /** Watch one namespace only; absent: all namespaces. */
  namespace?: string;
  /** Port of /metrics, /healthz and /readyz; 0 picks a free one. */
  metricsPort: number;
  /** Run only while holding the Lease (for more than one replica). */
  leaderElect: boolean;
  /** Namespace of the leader-election Lease; absent: see resolveLeaseNamespace. */
  leaseNamespace?: string;
  /** `ns/name` → admin endpoint URL of that Domain, overriding its Service (tests, out-of-cluster runs). */
  domainEndpoints: Record<string, string>;
  /** Every object reconciled again this often (with jitter) even without a change; absent: 10 minutes. */
  resyncIntervalMs?: number;
  /** The Prometheus Operator's kinds in Domain charts: on, off, or 'auto' (as discovery finds them). */
  monitoring?: boolean | 'auto';
  /** How often 'auto' asks discovery again; 0: only at start; absent: 5 minutes. */
  monitoringRecheckMs?: number;
  /**
   * Most Domains whose pods roll at once for a change their spec did not ask for (a newer operator's pod
   * template); 0: no limit; absent: DEFAULT_MAX_CONCURRENT_ROLLOUTS.
   */
  maxConcurrentRollouts?: number;
}

export const DEFAULT_METRICS_PORT = 8081;
export const DEFAULT_MAX_CONCURRENT_ROLLOUTS = 3;

export const OPERATOR_USAGE = `usage: openpds operator [--kubeconfig FILE] [--namespace NS] [--metrics-port N] [--leader-elect]
                        [--leader-election-namespace NS] [--domain-endpoint NS/NAME=URL]...
                        [--resync-interval D] [--monitoring auto|true|false] [--monitoring-recheck-interval D]
                        [--max-concurrent-rollouts N]

  --kubeconfig FILE            kubeconfig to use (default: in-cluster, then $KUBECONFIG or ~/.kube/config)
  --namespace NS               watch only this namespace (default: all namespaces)
  --metrics-port N             port for /metrics, /healthz, /readyz (default ${DEFAULT_METRICS_PORT}; 0 = any free port)
  --leader-elect               hold a coordination.k8s.io Lease; only the leader reconciles
  --leader-election-namespace NS  namespace of that Lease (default: $POD_NAMESPACE, then the pod's
                               service-account namespace, then --namespace, then "default")
  --domain-endpoint NS/NAME=URL  probe and manage Domain NS/NAME at URL instead of its Service (repeatable)
  --resync-interval D          reconcile every object again this often, with jitter (default 10m; D as 90s, 10m, 1h)
  --monitoring MODE            ServiceMonitor/PrometheusRule/AlertmanagerConfig in each Domain's chart: true, false,
                               or auto (default: the kinds discovery finds served)
  --monitoring-recheck-interval D  how often auto asks discovery again (default 5m; 0 = only at start)
  --max-concurrent-rollouts N  most Domains whose pods restart at once for a change their spec did not ask for
                               (a newer operator's pod template); the others wait, Progressing=RolloutQueued
                               (default ${DEFAULT_MAX_CONCURRENT_ROLLOUTS}; 0 = no limit). A spec change always rolls at once`;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export function parseDomainEndpoint(value: string): [string, string] {
  const eq = value.indexOf('=');
  const key = eq > 0 ? value.slice(0, eq) : '';
  const url = eq > 0 ? value.slice(eq + 1) : '';
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?\/[a-z0-9]([-.a-z0-9]*[a-z0-9])?$/.test(key)) {
    throw new ConfigError(`--domain-endpoint ${value}: expected NAMESPACE/NAME=URL, e.g. default/acme=http://127.0.0.1:8080`);
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError(`--domain-endpoint ${value}: "${url}" is not a URL`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new ConfigError(`--domain-endpoint ${value}: the URL must be http or https`);
  return [key, url.replace(/\/$/, '')];
}

/** A duration flag's value in milliseconds (duration.ts), or a ConfigError naming the flag. */
export function parseDuration(flag: string, raw: string): number {
  const ms = parseDurationMs(raw);
  if (ms === undefined) throw new ConfigError(`${flag} ${raw}: expected a duration such as 90s, 10m or 1h`);
  return ms;
}

export function parseOperatorArgs(argv: readonly string[]): OperatorConfig {
  const config: OperatorConfig = { metricsPort: DEFAULT_METRICS_PORT, leaderElect: false, domainEndpoints: {} };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const [name, inline] = flag.includes('=') && flag.startsWith('--') ? [flag.slice(0, flag.indexOf('=')), flag.slice(flag.indexOf('=') + 1)] : [flag, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined || v === '') throw new ConfigError(`${name} needs a value`);
      return v;
    };
    switch (name) {
      case '--kubeconfig':
        config.kubeconfig = value();
        break;
      case '--namespace':
        config.namespace = value();
        break;
      case '--metrics-port': {
        const raw = value();
        const port = Number(raw);
        if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError(`--metrics-port ${raw}: expected a port number 0..65535`);
        config.metricsPort = port;
        break;
      }
      case '--leader-elect':
        config.leaderElect = inline === undefined ? true : inline !== 'false';
        break;
      case '--leader-election-namespace':
        config.leaseNamespace = value();
        break;
      case '--domain-endpoint': {
        const [key, url] = parseDomainEndpoint(value());
        config.domainEndpoints[key] = url;
        break;
      }
      case '--resync-interval': {
        const raw = value();
        const ms = parseDuration(name, raw);
        // Shorter would turn the safety net into a hot loop over every object.
        if (ms < 10_000) throw new ConfigError(`--resync-interval ${raw}: at least 10s`);
        config.resyncIntervalMs = ms;
        break;
      }
      case '--monitoring': {
        const raw = value();
        if (!['auto', 'true', 'false'].includes(raw)) throw new ConfigError(`--monitoring ${raw}: expected auto, true or false`);
        config.monitoring = raw === 'auto' ? 'auto' : raw === 'true';
        break;
      }
      case '--max-concurrent-rollouts': {
        const raw = value();
        const n = Number(raw);
        if (!/^\d+$/.test(raw) || !Number.isSafeInteger(n)) throw new ConfigError(`--max-concurrent-rollouts ${raw}: expected a whole number (0 = no limit)`);
        config.maxConcurrentRollouts = n;
        break;
      }
      case '--monitoring-recheck-interval':
        config.monitoringRecheckMs = parseDuration(name, value());
        break;
      default:
        throw new ConfigError(`unknown flag ${flag}\n${OPERATOR_USAGE}`);
    }
  }
  return config;
}

/** Where a pod finds its own namespace (the service-account token mount). */
export const SERVICE_ACCOUNT_NAMESPACE_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

/**
 * The Lease's namespace, first of: the flag; $POD_NAMESPACE (config/manager/deployment.yaml sets it from
 * the downward API); the service-account namespace file (any in-cluster pod); the watched namespace;
 * "default". In-cluster it must be the operator's own namespace: its Role (config/rbac/
 * leader-election-role.yaml) grants Leases there and nowhere else.
 */
export function resolveLeaseNamespace(sources: { flag?: string | undefined; podNamespace?: string | undefined; serviceAccountNamespace?: string | undefined; watchNamespace?: string | undefined }): string {
  for (const candidate of [sources.flag, sources.podNamespace, sources.serviceAccountNamespace, sources.watchNamespace]) {
    const value = candidate?.trim();
    if (value) return value;
  }
  return 'default';
}
