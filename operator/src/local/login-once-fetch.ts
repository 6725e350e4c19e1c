/**
 * The fetch of one `openpds plan`/`apply` run's admin client: a data plane that gave no answer to a login
 * (refused, reset, or silent until the client's 10 s timeout) is not asked again in this run; every later
 * login fails at once with the same error. Each Drive logged in anew, so a domain behind a firewall that
 * drops packets cost (Drives + 1) × 10 s before the plan said anything (31 s for two Drives, minutes for a
 * folder). A data plane that answers, even with an error, is asked as before. The operator's clients do not
 * use this: they live for the process, and a Domain that comes back must be reached again.
 */
import type { FetchFn } from '../admin-client/admin-client';

const LOGIN_PATH = '/v2/account/login';

export function loginOnceFetch(fetchFn: FetchFn = (input, init) => fetch(input, init)): FetchFn {
  let unanswered: unknown;
  return async (input, init) => {
    const login = new URL(input).pathname.endsWith(LOGIN_PATH);
    if (login && unanswered !== undefined) throw unanswered;
    try {
      return await fetchFn(input, init);
    } catch (error) {
      if (login) unanswered = error;
      throw error;
    }
  };
}
