/**
 * A single-pod Domain on a volume (Recreate: a rollout is downtime), as the lifecycle, upgrade and rollout
 * suites apply it: no Secret to reference, no worker Deployment.
 */

/** Domain `name` in `namespace`; `extra` spec lines, each indented two spaces and ending in a newline. */
export const volumeDomainYaml = (namespace: string, name: string, extra = '') => `
apiVersion: openpds.io/v1alpha1
kind: Domain
metadata: { name: ${name}, namespace: ${namespace} }
spec:
  storage: { mode: standard, volume: { size: 1Gi } }
  apiServer: { replicas: 1 }
${extra}`;
