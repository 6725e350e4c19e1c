/**
 * A Domain's admin API as the plan and apply tests need it: the drives `listed` (what listAllDrives yields
 * and getDrive finds, less those deleted since), deletes recorded, creates recorded and answered `drv-1`,
 * `drv-2`, … `onCreate` runs before a create is recorded (a stop while it is in flight).
 */
import type { AdminClient } from '../../admin-client/admin-client';

export interface FakeDrive {
  drive_id: string;
  drive_name: string;
  owner: string;
  owner_type: string;
  description: string;
  default: boolean;
}

export function fakeDrivesClient(listed: readonly FakeDrive[] = [], options: { onCreate?: () => Promise<void> | void } = {}) {
  const created: string[] = [];
  const deleted: string[] = [];
  const live = () => listed.filter((d) => !deleted.includes(d.drive_id));
  const client = {
    async *listAllDrives() {
      yield* live();
    },
    async getDrive(id: string) {
      return live().find((d) => d.drive_id === id);
    },
    async deleteDrive(id: string) {
      deleted.push(id);
    },
    async createDrive(input: { drive_name: string }) {
      await options.onCreate?.();
      created.push(input.drive_name);
      return { domain_id: 'd', drive_id: `drv-${created.length}` };
    },
  } as unknown as AdminClient;
  return { client, created, deleted };
}
