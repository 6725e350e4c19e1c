/**
 * The operator's one typed configuration, parsed from command-line flags (`openpds operator …`,
 * `npm run operator -- …`) and validated up front: the first invalid flag is a clear error, never a
 * half-started operator.
 */

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
}

export const DEFAULT_METRICS_PORT = 8081;

export const OPERATOR_USAGE = `usage: openpds operator [--kubeconfig FILE] [--namespace NS] [--metrics-port N] [--leader-elect]
                        [--leader-election-namespace NS] [--domain-endpoint NS/NAME=URL]...

  --kubeconfig FILE            kubeconfig to use (default: in-cluster, then $KUBECONFIG or ~/.kube/config)
  --namespace NS               watch only this namespace (default: all namespaces)
  --metrics-port N             port for /metrics, /healthz, /readyz (default ${DEFAULT_METRICS_PORT}; 0 = any free port)
  --leader-elect               hold a coordination.k8s.io Lease; only the leader reconciles
  --leader-election-namespace NS  namespace of that Lease (default: $POD_NAMESPACE, then the pod's
                               service-account namespace, then --namespace, then "default")
  --domain-endpoint NS/NAME=URL  probe and manage Domain NS/NAME at URL instead of its Service (repeatable)`;

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
