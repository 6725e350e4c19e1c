export type Role = 'superadmin' | 'admin' | 'user';

/** Who is calling, as established by the auth middleware from the bearer token. */
export interface AuthContext {
  userId: string;
  domainId: string;
  role: Role;
  /** The user's token_generation the token was signed with: confirmed against the user on every call. */
  tokenGeneration?: number;
  /** The raw access token: rapid-upload proofs (proof_version v1) are derived from it. */
  accessToken: string;
}

export const isAdmin = (auth: AuthContext) => auth.role === 'admin' || auth.role === 'superadmin';
