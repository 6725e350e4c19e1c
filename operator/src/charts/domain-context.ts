/**
 * Everything the Domain's charts derive from the Domain before building objects: resolved spec, object
 * names, labels, the image to run and the owner reference. Pure; one place so every chart agrees.
 */
import { API_VERSION, type Domain } from '../domain-types';
import { resolveDomainSpec, type ResolvedDomainSpec } from './domain-defaults';

export type Component = 'api-server' | 'worker' | 'config' | 'monitoring' | 'data';

/** Label on every object with the Domain generation it was built for; the reconciler prunes older ones. */
export const GENERATION_LABEL = 'openpds.io/generation';
export const DOMAIN_LABEL = 'openpds.io/domain';
export const HTTP_PORT = 8080;
/**
 * The data plane's /metrics, on a port of its own (OPENPDS_METRICS_PORT): the Ingress and the public http
 * port never reach it (series such as the rapid-upload results are for operators, not clients), and the
 * NetworkPolicies open it to in-cluster scrapers only. 9090 is no port the image listens on otherwise.
 */
export const METRICS_PORT = 9090;
export const DATA_DIR = '/var/lib/openpds';
/** Matches the non-root user of the image (Dockerfile). */
export const RUN_AS_USER = 10001;

export interface DomainContext {
  domain: Domain;
  spec: ResolvedDomainSpec;
  namespace: string;
  /** Image to run: spec.image, unless policy Manual holds the current one back until approved. */
  image: string;
  /** storage.volume: one pod, embedded database, in-process workers, no worker Deployment. */
  singlePod: boolean;
  /** apiServer.replicas 0 without autoscaling: the whole data plane stopped, workers included. */
  stopped: boolean;
  names: {
    config: string;
    adminSecret: string;
    data: string;
    api: string;
    worker: string;
    workerMetrics: string;
    ingress: string;
    monitoring: string;
  };
  endpoint: string;
  publicUrl: string;
  /** Labels every object carries (app.kubernetes.io/* and the domain); selectors use a subset. */
  labels(component: Component): Record<string, string>;
  /**
   * Labels of the objects kept after their Domain (no ownerReference): without app.kubernetes.io/instance,
   * the label Argo CD tracks its resources by (its default before 3.0, an option since). An Application
   * named like the Domain would otherwise take the data volume's claim and the admin Secret for its own
   * extraneous resources and prune them; owned children are safe (Argo CD leaves objects with an owner).
   */
  keptLabels(component: Component): Record<string, string>;
  selector(component: Component): Record<string, string>;
  ownerReferences: { apiVersion: string; kind: string; name: string; uid: string; controller: boolean; blockOwnerDeletion: boolean }[] | undefined;
}

/**
 * The image the chart runs. Automatic: spec.image. Manual: the image last applied (status.currentImage,
 * which the reconciler writes before it applies a new one) until upgrade.approvedImage equals spec.image,
 * so an approved image whose pods migrated the database is never rolled back. Without a currentImage (a
 * new Domain, or one re-created or restored without its status) the approved image if there is one: it is
 * the only image anyone vouched for. Neither: spec.image, which the reconciler runs only where no data was
 * kept (it holds a Domain over kept data instead, domain-image.ts); `openpds plan` shows spec.image.
 */
export function imageToRun(domain: Domain, spec: ResolvedDomainSpec): string {
  if (spec.upgrade.policy !== 'Manual' || spec.upgrade.approvedImage === spec.image) return spec.image;
  return domain.status?.currentImage || spec.upgrade.approvedImage || spec.image;
}

function imageTag(image: string): string {
  const afterSlash = image.slice(image.lastIndexOf('/') + 1);
  const digest = afterSlash.indexOf('@');
  if (digest >= 0) return afterSlash.slice(digest + 1, digest + 1 + 19).replace(':', '-');
  const colon = afterSlash.indexOf(':');
  return colon >= 0 ? afterSlash.slice(colon + 1) : 'latest';
}

/**
 * The app.kubernetes.io/version label value for `image`: its tag, cut to what a label value may be (at
 * most 63 characters, [A-Za-z0-9] at both ends, `-_.` inside). An OCI tag may be 128 characters long and
 * end in `-`, `.` or `_`; taken as is, it made every object of the chart invalid and each apply fail. The
 * label only informs: the full image stays in the containers and in status.currentImage.
 */
export function versionLabel(image: string): string {
  const value = imageTag(image)
    .replace(/[^A-Za-z0-9._-]/g, '-')
    .slice(0, 63)
    .replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '');
  return value || 'unknown';
}

export function createDomainContext(domain: Domain): DomainContext {
  const spec = resolveDomainSpec(domain);
  const name = domain.metadata.name;
  const namespace = domain.metadata.namespace ?? 'default';
  const image = imageToRun(domain, spec);
  const names = {
    config: `${name}-config`,
    adminSecret: `${name}-admin`,
    data: `${name}-data`,
    api: `${name}-api`,
    worker: `${name}-worker`,
    workerMetrics: `${name}-worker-metrics`,
    ingress: name,
    monitoring: name,
  };
  const endpoint = `http://${names.api}.${namespace}.svc:${HTTP_PORT}`;
  const ingress = spec.ingress;
  const publicUrl = ingress ? `${ingress.tlsSecretName ? 'https' : 'http'}://${ingress.host}` : endpoint;
  const selector = (component: Component) => ({
    'app.kubernetes.io/name': 'openpds',
    'app.kubernetes.io/instance': name,
    'app.kubernetes.io/component': component,
  });
  const labels = (component: Component) => ({
    ...selector(component),
    'app.kubernetes.io/part-of': 'openpds',
    'app.kubernetes.io/managed-by': 'openpds-operator',
    'app.kubernetes.io/version': versionLabel(image),
    [DOMAIN_LABEL]: name,
  });
  const uid = domain.metadata.uid;
  return {
    domain,
    spec,
    namespace,
    image,
    singlePod: spec.storage.volume !== undefined,
    stopped: !spec.apiServer.autoscaling.enabled && spec.apiServer.replicas === 0,
    names,
    endpoint,
    publicUrl,
    selector,
    labels,
    keptLabels(component) {
      const { 'app.kubernetes.io/instance': _instance, ...rest } = labels(component);
      return rest;
    },
    // Without a uid (a Domain not yet created: `openpds plan`, tests) there is nothing to own the objects.
    ownerReferences: uid ? [{ apiVersion: API_VERSION, kind: 'Domain', name, uid, controller: true, blockOwnerDeletion: true }] : undefined,
  };
}
