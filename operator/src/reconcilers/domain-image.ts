/**
 * The image a Domain runs under upgrade.policy Manual, as the reconciler settles it before it applies, and
 * how a held upgrade shows. Pure: the reconciler reads what these need (the Deployment watch's copy, the
 * admin Secret) and writes what they answer.
 *
 * status.currentImage is the image the Deployments were (or are being) applied with. The reconciler
 * writes it before an apply that changes it, not after: an apply that fails past the Deployments (a
 * PrometheusRule CRD gone, an Ingress a webhook refuses) or an operator that dies before its status write
 * used to leave the previous image there while the new pods ran and migrated the database, and the next
 * unapproved spec.image then rolled them back past that migration (red team H1). Written first, the worst
 * case is a currentImage whose apply never happened: an image that was approved, run at the next apply.
 */
import type { DomainContext } from '../charts/domain-context';
import type { Domain } from '../domain-types';
import type { ConditionInput } from '../kube/conditions';
import type { KubeObject } from '../kube/kube-client';

export const UPGRADE_PENDING = 'UpgradePending';

type DeploymentLike = KubeObject & { spec?: { template?: { spec?: { containers?: { image?: string }[] } } } };

/** The image a Deployment of the chart runs (its one container), if there is one. */
export function deploymentImage(deployment: KubeObject | undefined): string | undefined {
  return (deployment as DeploymentLike | undefined)?.spec?.template?.spec?.containers?.[0]?.image || undefined;
}

/** `domain` as the chart should see it: status.currentImage set to `image` (the image that runs). */
export function withCurrentImage(domain: Domain, image: string): Domain {
  return { ...domain, status: { ...domain.status, currentImage: image } };
}

/**
 * Whether the reconciler must look for the running image: policy Manual, no currentImage in status (a new
 * Domain, or one re-created or restored without its status) and an approval that does not cover
 * spec.image. Only then does the image depend on what runs or was kept; a steady Domain has currentImage.
 */
export function needsRunningImage(ctx: DomainContext): boolean {
  const { policy, approvedImage } = ctx.spec.upgrade;
  return policy === 'Manual' && !ctx.domain.status?.currentImage && approvedImage !== ctx.spec.image;
}

/**
 * Why a Manual Domain with neither currentImage nor approvedImage is not applied over kept data (the
 * admin Secret, and on a volume the claim applied with it, outlive a deleted Domain). That data was last
 * migrated by some image nobody can name any more: running spec.image unapproved could be the upgrade
 * Manual exists to hold back, and running nothing is reversible. A new Domain (nothing kept) runs
 * spec.image: creating it is approval enough, there is no data to migrate. A new Domain whose first apply
 * stopped after the admin Secret is not held: the reconciler writes currentImage before a Manual Domain's
 * first apply, so only a Domain re-created or restored without status gets here.
 */
export function heldOverKeptData(ctx: DomainContext): string {
  const kept = [`the admin Secret ${ctx.namespace}/${ctx.names.adminSecret}`, ...(ctx.singlePod ? [`the volume claim ${ctx.names.data}`] : [])].join(' and ');
  return (
    `upgrade.policy is Manual and the image last run is unknown (no status.currentImage: the Domain was re-created, or restored without its status) while its kept data is there (${kept}): ` +
    `spec.image ${ctx.spec.image} is not approved, and running it could migrate that data past what the image that ran before can read; nothing was applied. ` +
    `Set upgrade.approvedImage to the image to run (${ctx.spec.image} to run spec.image), or upgrade.policy Automatic`
  );
}

/**
 * The UpgradePending condition of a Manual Domain (undefined under Automatic, where spec.image always
 * runs): True while spec.image waits for approval, naming spec.image, upgrade.approvedImage and the image
 * that runs. Beside Ready, which stays True: the data plane serves, nothing is broken.
 */
export function upgradeCondition(ctx: DomainContext, generation: number, held?: boolean): ConditionInput | undefined {
  const { policy, approvedImage } = ctx.spec.upgrade;
  if (policy !== 'Manual') return undefined;
  const g = { observedGeneration: generation };
  if (!held && ctx.image === ctx.spec.image) return { type: UPGRADE_PENDING, status: 'False', reason: 'UpToDate', message: `Running spec.image ${ctx.spec.image}`, ...g };
  const approval = approvedImage ? `upgrade.approvedImage is ${approvedImage}, another image` : 'upgrade.approvedImage is not set';
  const running = held ? 'nothing runs (the image last run is unknown)' : `running ${ctx.image}`;
  return { type: UPGRADE_PENDING, status: 'True', reason: 'AwaitingApproval', message: `spec.image ${ctx.spec.image} waits for approval (upgrade.policy Manual): ${running}; ${approval}. Set upgrade.approvedImage to ${ctx.spec.image} to roll it out`, ...g };
}
