/**
 * The pure half of the Drive reconciler: the drive a Drive CR asks for, the ownership marker it carries in
 * the data plane, and the field-by-field difference between wanted and observed. No I/O here.
 */
import type { AdminDrive, OwnerType, UpdateDriveInput } from '../admin-client/admin-client';
import { quantityToBytes } from '../charts/quantity';
import type { Drive } from '../domain-types';

export type ReclaimPolicy = 'Retain' | 'Delete';
/** Created: the operator made the drive. Adopted: it took over one it found (made by hand, or retained). */
export type DriveOrigin = 'Created' | 'Adopted';

/**
 * reclaimPolicy Delete deletes an adopted drive only with this annotation set to "true": the operator
 * never made that drive, and deleting a CR must not silently destroy files someone created by hand.
 */
export const DELETE_ADOPTED_ANNOTATION = 'openpds.io/delete-adopted';

export interface DesiredDrive {
  uid: string;
  drive_name: string;
  ownerKind: 'User' | 'Group';
  ownerName: string;
  owner_type: OwnerType;
  /** The description a new drive gets: the spec's text (none if the spec has none) plus the ownership marker. */
  description: string;
  /**
   * Whether the spec sets the description. A spec without one leaves the text to the data plane, as
   * terraform leaves an unset optional argument alone: adopting a hand-made drive keeps its text, and an
   * edit made in the data plane is not drift. The marker line is the operator's either way.
   */
  descriptionManaged: boolean;
  /** Bytes; null means unlimited (spec "0"). */
  total_size: number | null;
  reclaimPolicy: ReclaimPolicy;
  origin: DriveOrigin;
  /**
   * The apply set the marker names (`openpds apply --set NAME`, running-domains mode). Undefined keeps the
   * set the drive's own marker already has: an apply without --set prunes nothing, and must not take a
   * drive out of its set either (cluster mode keeps membership labels the same way).
   */
  set?: string;
}

export interface FieldChange {
  /** `status`: the drive was disabled in the data plane. The Drive has no field for it: enabled is the spec. */
  field: 'drive_name' | 'description' | 'total_size' | 'status';
  from: string | number | null;
  to: string | number | null;
}

// The data plane has no labels on drives, so the marker lives on the last line of the description. It is
// what finds the drive again when status.driveId was lost (a crash between create and the status write),
// and it says whether the operator created the drive or adopted it (`; origin=Adopted`), so that survives
// a lost status too. A created drive's marker has no origin part: markers written before origin existed
// read as Created, as they always did.
//
// The full line: `openpds.io/uid=<uid>; reclaimPolicy=<Retain|Delete>[; origin=Adopted][; set=<NAME>]`.
// `set` is the apply set of `openpds apply --set NAME` against running domains: with no cluster to hold a
// parent object, the marker is the membership record, and a prune deletes or releases exactly the drives
// whose marker names its set and whose manifests left the folder. Only the CLI writes it, and only on
// drives of local uids; a marker without it (all markers written before sets existed) belongs to no set
// and is never pruned by `plan`/`apply`.
const MARKER_PREFIX = 'openpds.io/uid=';
const MARKER_LINE = /(?:^|\n)openpds\.io\/uid=([A-Za-z0-9._-]+); reclaimPolicy=(Retain|Delete)(?:; origin=(Adopted))?(?:; set=([a-z0-9](?:[-a-z0-9.]{0,61}[a-z0-9])?))?$/;
// The data plane's limit (api-server drives.routes.ts, zod `.max(1024)`), counted as JavaScript counts: in
// UTF-16 code units. The CRD's maxLength 1024 counts characters (code points), so a spec text within it
// may still be up to 2048 units: the cut below is in units, the data plane's measure.
const MAX_DESCRIPTION = 1024;

/**
 * The CR's uid, or (for manifests outside a cluster: `openpds up`, `plan`, `apply`) a stable stand-in
 * from namespace and name, so every run over the same manifests finds the same drives.
 */
export function driveUid(drive: Drive): string {
  return drive.metadata.uid ?? localUid(drive.metadata.namespace ?? 'default', drive.metadata.name);
}

/** What every stand-in uid starts with; a Kubernetes uid (a UUID) never does. */
export const LOCAL_UID_PREFIX = 'local.';

// Dots as separators: a namespace is a DNS label (no dots), so `local.<ns>.` names exactly one namespace's
// drives; `openpds apply --set NAME` prunes the drives of its set (the marker's `set=`) within it.
export function localUid(namespace: string, name: string): string {
  return `${LOCAL_UID_PREFIX}${namespace}.${name}`;
}

/**
 * An apply set's name, for `--set NAME` in both modes of `openpds plan/apply`: in a cluster it is a label
 * value and part of the parent ConfigMap's name, here the marker's `set=` part. Lower-case alphanumerics,
 * `-` and `.` inside, at most 63: a DNS label, plus the dots a label value allows.
 */
export const APPLY_SET_NAME = /^[a-z0-9]([-a-z0-9.]{0,61}[a-z0-9])?$/;

/**
 * How `openpds plan/apply --set NAME` hands the set to the Drive reconciler, which builds the marker from
 * the Drive alone: an annotation the CLI writes (and removes without --set) on the Drive it passes, never
 * read from a manifest. Honoured for local uids only: a cluster's Drives keep the markers they always had.
 */
export const APPLY_SET_ANNOTATION = 'openpds.io/local-apply-set';

/** The Drive as `openpds plan/apply` passes it to the reconciler: in `set`, or (undefined) in the one it has. */
export function withApplySet(drive: Drive, set: string | undefined): Drive {
  const { [APPLY_SET_ANNOTATION]: _dropped, ...annotations } = drive.metadata.annotations ?? {};
  if (set !== undefined) annotations[APPLY_SET_ANNOTATION] = set;
  const metadata: Drive['metadata'] = { ...drive.metadata, annotations };
  if (Object.keys(annotations).length === 0) delete metadata.annotations;
  return { ...drive, metadata };
}

export function buildDesiredDrive(drive: Drive, origin: DriveOrigin = 'Created'): DesiredDrive {
  const uid = driveUid(drive);
  const reclaimPolicy = drive.spec.reclaimPolicy ?? 'Retain';
  const bytes = quantityToBytes(drive.spec.quota?.totalSize ?? '10Gi');
  // The CRD refuses more (its CEL rule); a Drive stored before that rule would be refused by the data plane
  // on every retry, so it is an invalid spec, said once, not an AdminApiRejected retried forever.
  if (bytes > Number.MAX_SAFE_INTEGER) throw new Error(`spec.quota.totalSize ${drive.spec.quota!.totalSize!} is more than 9007199254740991 bytes (just under 8Pi), the data plane's largest size; use "0" for unlimited`);
  const requested = drive.metadata.annotations?.[APPLY_SET_ANNOTATION];
  const set = requested !== undefined && uid.startsWith(LOCAL_UID_PREFIX) && APPLY_SET_NAME.test(requested) ? requested : undefined;
  return {
    uid,
    drive_name: drive.spec.name ?? drive.metadata.name,
    ownerKind: drive.spec.owner.kind,
    ownerName: drive.spec.owner.name,
    owner_type: drive.spec.owner.kind === 'Group' ? 'group' : 'user',
    description: withMarker(drive.spec.description ?? '', uid, reclaimPolicy, origin, set),
    descriptionManaged: drive.spec.description !== undefined,
    total_size: bytes === 0 ? null : bytes,
    reclaimPolicy,
    origin,
    ...(set !== undefined ? { set } : {}),
  };
}

export interface DriveMarker {
  uid: string;
  reclaimPolicy: ReclaimPolicy;
  origin: DriveOrigin;
  /** The apply set (`openpds apply --set NAME`) the drive belongs to; absent: none. */
  set?: string;
}

export function withMarker(text: string, uid: string, reclaimPolicy: ReclaimPolicy, origin: DriveOrigin = 'Created', set?: string): string {
  const marker = `${MARKER_PREFIX}${uid}; reclaimPolicy=${reclaimPolicy}${origin === 'Adopted' ? '; origin=Adopted' : ''}${set !== undefined ? `; set=${set}` : ''}`;
  if (!text) return marker;
  // The data plane caps descriptions at 1024 UTF-16 units: the marker wins over the tail of the text.
  return `${cutToUnits(text, MAX_DESCRIPTION - marker.length - 1)}\n${marker}`;
}

/**
 * At most `max` UTF-16 units of `text`, never ending inside a surrogate pair: half an emoji is an unpaired
 * surrogate, which the data plane refuses (and would refuse on every retry).
 */
export function cutToUnits(text: string, max: number): string {
  if (text.length <= max) return text;
  const last = text.charCodeAt(max - 1);
  const end = last >= 0xd800 && last <= 0xdbff ? max - 1 : max;
  return text.slice(0, end);
}

export function parseMarker(description: string): DriveMarker | undefined {
  const match = MARKER_LINE.exec(description);
  if (!match) return undefined;
  return { uid: match[1]!, reclaimPolicy: match[2] as ReclaimPolicy, origin: match[3] ? 'Adopted' : 'Created', ...(match[4] ? { set: match[4] } : {}) };
}

/** The description without the marker: what a released (retained) drive keeps. */
export function stripMarker(description: string): string {
  return description.replace(MARKER_LINE, '');
}

/**
 * The description `observed` should have: the spec's text, or (spec silent) its own text, with the marker.
 * The marker's set is the desired one, else the one the drive's own marker has (see DesiredDrive.set).
 */
export function wantedDescription(desired: DesiredDrive, observed: AdminDrive): string {
  const own = parseMarker(observed.description);
  const set = desired.set ?? (own?.uid === desired.uid ? own.set : undefined);
  if (desired.descriptionManaged) {
    if (set === desired.set) return desired.description;
    // stripMarker gives the spec's text as cut for the marker without the set; withMarker cuts it again.
    return withMarker(stripMarker(desired.description), desired.uid, desired.reclaimPolicy, desired.origin, set);
  }
  return withMarker(stripMarker(observed.description), desired.uid, desired.reclaimPolicy, desired.origin, set);
}

export function diffDrive(desired: DesiredDrive, observed: AdminDrive): FieldChange[] {
  const changes: FieldChange[] = [];
  if (observed.drive_name !== desired.drive_name) changes.push({ field: 'drive_name', from: observed.drive_name, to: desired.drive_name });
  const description = wantedDescription(desired, observed);
  if (observed.description !== description) changes.push({ field: 'description', from: observed.description, to: description });
  if (observed.total_size !== desired.total_size) changes.push({ field: 'total_size', from: observed.total_size, to: desired.total_size });
  // As a terraform provider corrects any managed attribute changed out of band: a Drive is a drive in use,
  // and one disabled by hand (its owner locked out of it) is drift, enabled again.
  if (observed.status === 'disabled') changes.push({ field: 'status', from: 'disabled', to: 'enabled' });
  return changes;
}

export function patchFor(changes: readonly FieldChange[], desired: DesiredDrive): UpdateDriveInput {
  const patch: UpdateDriveInput = {};
  for (const change of changes) {
    if (change.field === 'total_size') patch.total_size = desired.total_size;
    else if (change.field === 'status') patch.status = 'enabled';
    else if (change.field === 'description') patch.description = change.to as string;
    else patch[change.field] = desired[change.field];
  }
  return patch;
}

const BINARY_UNITS = ['', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi'] as const;

/** Bytes as a quantity for status and plans: exact when it divides evenly ("5Gi"), else one decimal ("1.5Gi"). */
export function bytesToQuantity(bytes: number | null): string {
  if (bytes === null || bytes === 0) return '0';
  let unit = 0;
  while (unit < BINARY_UNITS.length - 1 && bytes >= 1024 ** (unit + 1)) unit++;
  const value = bytes / 1024 ** unit;
  const shown = Number.isInteger(value) ? String(value) : String(Math.round(value * 10) / 10);
  return `${shown}${BINARY_UNITS[unit]}`;
}

/** A change as a person reads it in a plan or an Event ("total_size 1Gi -> 5Gi"). */
export function describeChange(change: FieldChange): string {
  const show = (v: string | number | null) => (change.field === 'total_size' ? (v === null ? 'unlimited' : bytesToQuantity(v as number)) : JSON.stringify(v));
  return `${change.field} ${show(change.from)} -> ${show(change.to)}`;
}
