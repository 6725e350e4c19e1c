/**
 * A typed client for one domain's admin API (the PDS-style `POST /v2/<group>/<action>` surface), the way a
 * terraform provider talks to a cloud API. It logs in with admin credentials on first use, logs in again
 * once when a call answers 401 (token expired or the domain restarted with a new key), and raises every
 * failure as an AdminApiError.
 */
import { AdminApiError, adminApiErrorFrom } from './admin-api-error';
import { ANY_SHAPE, checkShape, CREATED_DRIVE_SHAPE, DRIVE_PAGE_SHAPE, DRIVE_SHAPE, USER_PAGE_SHAPE, USER_SHAPE } from './admin-response-shapes';

export interface AdminCredentials {
  username: string;
  password: string;
}

/** The part of fetch the client uses: global fetch, or the operator's lighter one (kube/http-fetch.ts). */
export type FetchFn = (input: string, init: { method: string; headers: Record<string, string>; body: string; signal: AbortSignal }) => Promise<{ status: number; text(): Promise<string> }>;

export interface AdminClientOptions {
  /** Base URL of the domain's API server, e.g. `http://domain-api.ns.svc:8080`. */
  baseUrl: string;
  /** Static credentials, or a loader so a rotated Secret is picked up at the next login. */
  credentials: AdminCredentials | (() => Promise<AdminCredentials>);
  fetch?: FetchFn;
  timeoutMs?: number;
}

export type OwnerType = 'user' | 'group';
export type DriveStatus = 'enabled' | 'disabled';

export interface AdminDrive {
  domain_id: string;
  drive_id: string;
  drive_name: string;
  description: string;
  creator: string;
  owner: string;
  owner_type: OwnerType;
  drive_type: string;
  status: DriveStatus;
  /** Quota in bytes; null means unlimited. */
  total_size: number | null;
  used_size: number;
  default: boolean;
  created_at: string;
  updated_at: string;
}

export interface CreateDriveInput {
  drive_name: string;
  owner: string;
  owner_type?: OwnerType;
  description?: string;
  total_size?: number | null;
  default?: boolean;
  drive_type?: string;
  status?: DriveStatus;
}

export interface UpdateDriveInput {
  drive_name?: string;
  description?: string;
  status?: DriveStatus;
  total_size?: number | null;
}

export interface ListDrivesInput {
  owner?: string;
  limit?: number;
  marker?: string;
}

export interface AdminUser {
  domain_id: string;
  user_id: string;
  user_name: string;
  nick_name: string;
  role: 'superadmin' | 'admin' | 'user';
  status: 'enabled' | 'disabled';
  default_drive_id: string;
  /**
   * Milliseconds since the epoch, as PDS's User has them; a data plane from before that change (a Domain
   * whose image upgrade is held back) answers an ISO string. The operator reads neither today.
   */
  created_at: number | string;
  updated_at: number | string;
}

/** `/v2/domain/get`: the domain's settings and usage. */
export interface AdminDomain {
  domain_id: string;
  trash_retention_days: number;
  user_count: number;
  drive_count: number;
  /** Bytes stored over all drives. */
  used_size: number;
  /** Sum of the quotas of the drives that have one, in bytes. */
  total_size: number;
  /** Drives without a quota: total_size leaves them out. */
  unlimited_drive_count: number;
  created_at?: string;
  updated_at?: string;
}

/** findUser: the name is one user's id and another's user name (data made before the data plane refused that). */
function ambiguousUser(idOrName: string, byId: AdminUser, byName: AdminUser): AdminApiError {
  return new AdminApiError(
    409,
    'Conflict.AmbiguousUser',
    `"${idOrName}" is the user id of one user and the user name of another (${byName.user_id}); name the owner by the other user's id, or rename or delete one of them`,
  );
}

export interface Page<T> {
  items: T[];
  next_marker: string;
}

export interface AdminClient {
  /** The domain's settings and usage; timeoutMs bounds this call (login included) below the client's default. */
  getDomain(options?: { timeoutMs?: number }): Promise<AdminDomain>;
  createDrive(input: CreateDriveInput): Promise<{ domain_id: string; drive_id: string }>;
  getDrive(driveId: string): Promise<AdminDrive>;
  listDrives(input?: ListDrivesInput): Promise<Page<AdminDrive>>;
  /** Every drive (optionally of one owner), following markers. */
  listAllDrives(input?: Omit<ListDrivesInput, 'marker'>): AsyncGenerator<AdminDrive>;
  updateDrive(driveId: string, patch: UpdateDriveInput): Promise<AdminDrive>;
  deleteDrive(driveId: string): Promise<void>;
  getUser(userId: string): Promise<AdminUser>;
  listUsers(input?: { limit?: number; marker?: string }): Promise<Page<AdminUser>>;
  /** Every user of the domain, following markers. */
  listAllUsers(input?: { limit?: number }): AsyncGenerator<AdminUser>;
  /**
   * The user with this id, else the one with this user name (a Drive CR may name either), else undefined.
   * A 409 Conflict.AmbiguousUser AdminApiError when the id is one user's and the name another's.
   */
  findUser(idOrName: string): Promise<AdminUser | undefined>;
}

const DEFAULT_TIMEOUT_MS = 10_000;
/** The roles that see and manage every drive of the domain. */
const ADMIN_ROLES = new Set(['admin', 'superadmin']);

/** `promise`, or an Unreachable AdminApiError once `ms` have passed (the promise itself runs on). */
function within<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new AdminApiError(0, 'Unreachable', message)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Why no answer came, in words an O&M engineer can act on. Node's fetch says only "fetch failed" and keeps
 * the reason (ECONNREFUSED, ENOTFOUND, a TLS error) in its cause; a timeout says "The operation was
 * aborted due to timeout", without the time.
 */
export function unreachableReason(cause: unknown, waitMs: number): string {
  const error = cause as (Error & { cause?: unknown }) | undefined;
  if (error?.name === 'TimeoutError') return `no answer within ${waitMs} ms`;
  const inner = error?.cause as (Error & { code?: unknown }) | undefined;
  const detail = inner?.message || (typeof inner?.code === 'string' ? inner.code : '');
  const message = error?.message ?? String(cause);
  return detail && !message.includes(detail) ? `${message} (${detail})` : message;
}

/**
 * The marker of the page after `page`, or undefined at the end. A marker seen before means a server that
 * ignores `marker` (an API that only looks like this one, a cache in front of it): it would hand the same
 * page forever, and a plan would list drives until it ran out of memory.
 */
function nextMarker(page: Page<unknown>, seen: Set<string>, url: string): string | undefined {
  const marker = page.next_marker || undefined;
  if (marker === undefined) return undefined;
  if (seen.has(marker)) throw new AdminApiError(200, 'InvalidResponse', `${url} answered next_marker ${JSON.stringify(marker)} a second time: the list does not advance (is this the domain's API URL?)`);
  seen.add(marker);
  return marker;
}

export function createAdminClient(options: AdminClientOptions): AdminClient {
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const fetchFn: FetchFn = options.fetch ?? ((input, init) => fetch(input, init));
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  let token: string | undefined;
  // One login at a time: many reconciles starting together share it instead of each logging in.
  let loggingIn: Promise<string> | undefined;

  async function post(path: string, body: unknown, accessToken?: string, waitMs = timeoutMs): Promise<{ status: number; body: unknown }> {
    let res: Awaited<ReturnType<FetchFn>>;
    try {
      res = await fetchFn(`${baseUrl}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(accessToken ? { authorization: `Bearer ${accessToken}` } : {}) },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(waitMs),
      });
    } catch (cause) {
      throw new AdminApiError(0, 'Unreachable', `${baseUrl}${path}: ${unreachableReason(cause, waitMs)}`, undefined, { cause });
    }
    const text = await res.text();
    let parsed: unknown = undefined;
    if (text) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = undefined; // a proxy's HTML error page: the status alone must do
      }
    }
    return { status: res.status, body: parsed };
  }

  function login(): Promise<string> {
    loggingIn ??= (async () => {
      try {
        const credentials = typeof options.credentials === 'function' ? await options.credentials() : options.credentials;
        const res = await post('/v2/account/login', credentials);
        if (res.status >= 300) throw adminApiErrorFrom(res.status, res.body, '/v2/account/login');
        const answer = res.body as { access_token?: unknown; role?: unknown; user_name?: unknown } | undefined;
        const accessToken = answer?.access_token;
        if (typeof accessToken !== 'string') throw new AdminApiError(res.status, 'InvalidResponse', 'login answered without an access_token');
        // A user who is no admin logs in too, and the admin API then answers as it answers a user: drive/list
        // shows only the user's own drives, whatever the owner asked for. `openpds plan` with such an account
        // (a "read-only" one for CI) planned every existing drive as a create, exit 0. Refused here, as a
        // wrong password is. (A data plane that does not say the role is taken at its word.)
        if (typeof answer?.role === 'string' && !ADMIN_ROLES.has(answer.role)) {
          throw new AdminApiError(403, 'Forbidden.NotAdmin', `user ${JSON.stringify(answer.user_name ?? credentials.username)} logged in but is not an admin of the domain (role ${answer.role}): the admin API shows a user only their own drives, so nothing could be planned or applied right; give an admin's credentials`);
        }
        token = accessToken;
        return accessToken;
      } finally {
        loggingIn = undefined;
      }
    })();
    return loggingIn;
  }

  /**
   * Without `budgetMs` each request gets the client's timeout. With it, the whole call (a login it waits
   * for included) answers or fails within budgetMs: a login shared with other callers is not cut short,
   * this call only stops waiting for it.
   */
  async function call<T>(path: string, body: unknown, shape: Parameters<typeof checkShape>[1], budgetMs?: number): Promise<T> {
    const deadline = budgetMs === undefined ? undefined : performance.now() + budgetMs;
    const left = () => (deadline === undefined ? timeoutMs : Math.max(Math.ceil(deadline - performance.now()), 1));
    const loggedIn = (): Promise<string> => (deadline === undefined ? login() : within(login(), left(), `${baseUrl}${path}: no answer within ${budgetMs} ms (logging in)`));
    const used = token ?? (await loggedIn());
    let res = await post(path, body, used, left());
    if (res.status === 401) {
      // Another call may already have logged in again since this one started.
      const fresh = token !== undefined && token !== used ? token : await loggedIn();
      res = await post(path, body, fresh, left());
    }
    if (res.status >= 300) throw adminApiErrorFrom(res.status, res.body, path);
    return checkShape<T>(res.body, shape, res.status, `${baseUrl}${path}`);
  }

  const client: AdminClient = {
    getDomain: (options = {}) => call('/v2/domain/get', {}, ANY_SHAPE, options.timeoutMs),
    createDrive: (input) => call('/v2/drive/create', input, CREATED_DRIVE_SHAPE),
    getDrive: (driveId) => call('/v2/drive/get', { drive_id: driveId }, DRIVE_SHAPE),
    listDrives: (input = {}) => call('/v2/drive/list', input, DRIVE_PAGE_SHAPE),
    async *listAllDrives(input = {}) {
      const seen = new Set<string>();
      let marker: string | undefined;
      do {
        const page = await client.listDrives({ ...input, ...(marker ? { marker } : {}) });
        yield* page.items;
        marker = nextMarker(page, seen, `${baseUrl}/v2/drive/list`);
      } while (marker);
    },
    updateDrive: (driveId, patch) => call('/v2/drive/update', { drive_id: driveId, ...patch }, DRIVE_SHAPE),
    async deleteDrive(driveId) {
      await call('/v2/drive/delete', { drive_id: driveId }, ANY_SHAPE);
    },
    getUser: (userId) => call('/v2/user/get', { user_id: userId }, USER_SHAPE),
    listUsers: (input = {}) => call('/v2/user/list', input, USER_PAGE_SHAPE),
    async *listAllUsers(input = {}) {
      const seen = new Set<string>();
      let marker: string | undefined;
      do {
        const page = await client.listUsers({ ...input, ...(marker ? { marker } : {}) });
        yield* page.items;
        marker = nextMarker(page, seen, `${baseUrl}/v2/user/list`);
      } while (marker);
    },
    async findUser(idOrName) {
      let byId: AdminUser | undefined;
      try {
        byId = await client.getUser(idOrName);
      } catch (error) {
        if (!(error instanceof AdminApiError) || !error.isNotFound) throw error;
      }
      // By name through /v2/user/search (one indexed lookup). A data plane older than search (a Domain whose
      // image upgrade is held back) answers 404 for the route: then a paged scan, as before it existed.
      try {
        const page = await call<Page<AdminUser>>('/v2/user/search', { user_name: idOrName, limit: 2 }, USER_PAGE_SHAPE);
        const byName = page.items.find((u) => u.user_name === idOrName) ?? page.items[0];
        // The data plane refuses a user id that is another user's name (and back) since caller-given ids;
        // users made before that may still clash. Neither is the safe guess: the Drive would make or adopt
        // a drive for the wrong person, so the owner is refused until an admin renames or deletes one.
        if (byId && byName && byName.user_id !== byId.user_id) throw ambiguousUser(idOrName, byId, byName);
        return byId ?? byName;
      } catch (error) {
        if (!(error instanceof AdminApiError) || !error.isNotFound) throw error;
      }
      // Older than search, so older than caller-given ids: its ids are generated, and a name is no id.
      if (byId) return byId;
      for await (const user of client.listAllUsers()) if (user.user_name === idOrName) return user;
      return undefined;
    },
  };
  return client;
}
