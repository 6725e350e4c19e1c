import { forbidden } from '../../shared/errors';
import type { Deps } from '../../shared/deps';
import { isAdmin, type AuthContext } from '../auth/auth.types';
import { createDomainRepository } from './domain.repository';

export interface DomainSettings {
  trash_retention_days: number;
}

export function createDomainService(deps: Pick<Deps, 'db' | 'config'>) {
  const repo = createDomainRepository();
  const domainId = deps.config.domainId;
  const defaults: DomainSettings = { trash_retention_days: deps.config.trashRetentionDays };

  async function settings(): Promise<DomainSettings> {
    const row = await repo.get(deps.db, domainId);
    return { ...defaults, ...(row?.settings as Partial<DomainSettings>) };
  }

  return {
    ensure: () => repo.ensure(deps.db, domainId),
    settings,
    async get(auth: AuthContext) {
      if (!isAdmin(auth)) throw forbidden('Domain', 'only an admin can read domain settings');
      const [row, usage] = await Promise.all([repo.get(deps.db, domainId), repo.usage(deps.db, domainId)]);
      return { domain_id: domainId, ...defaults, ...(row?.settings as Partial<DomainSettings>), ...usage, created_at: row?.created_at.toISOString(), updated_at: row?.updated_at.toISOString() };
    },
    async update(auth: AuthContext, patch: Partial<DomainSettings>) {
      if (!isAdmin(auth)) throw forbidden('Domain', 'only an admin can change domain settings');
      await repo.mergeSettings(deps.db, domainId, patch);
      return this.get(auth);
    },
  };
}
export type DomainService = ReturnType<typeof createDomainService>;
