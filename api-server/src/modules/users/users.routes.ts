import { Router } from 'express';
import { z } from 'zod';
import { displayTextField } from '../../shared/display-text';
import { defineRpc, idField, limitField, markerField, type RpcRegistry } from '../../shared/rpc';
import { newUserIdField, roleField, userNameField, userPageSchema, userResponseSchema, userStatusField } from './users.schemas';
import { toUserResponse, type UsersService } from './users.service';
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from './password-limits';

const profile = {
  nick_name: displayTextField(0, 256).optional(),
  email: z.string().max(256).optional(),
  phone: z.string().max(64).optional(),
  description: z.string().max(1024).optional(),
  avatar: z.string().max(4096).optional(),
  role: roleField.optional(),
  status: userStatusField.optional(),
  user_data: z.record(z.string(), z.unknown()).optional(),
  password: z.string().min(PASSWORD_MIN_LENGTH).max(PASSWORD_MAX_LENGTH).optional(),
};

export function createUsersRouter(registry: RpcRegistry, users: UsersService): Router {
  const router = Router();
  defineRpc(router, registry, {
    path: '/v2/user/create',
    summary: "Create a user with a default drive (admin); user_id is the caller's or generated, user_name defaults to it",
    status: 201,
    errors: [409],
    // PDS CreateUser requires user_id and makes user_name optional; OpenPDS generates the id when it is
    // absent (its clients never sent one), so either will do, and a missing user name is the id.
    body: z
      .object({ user_id: newUserIdField.optional(), user_name: userNameField.optional(), ...profile })
      .refine((b) => b.user_id !== undefined || b.user_name !== undefined, { path: ['user_name'], message: 'user_name or user_id is required' }),
    response: userResponseSchema,
    handler: async (input, { auth }) => toUserResponse(await users.create(auth, input)),
  });
  defineRpc(router, registry, {
    path: '/v2/user/get',
    summary: 'Get a user (yourself, or anyone for admins)',
    body: z.object({ user_id: idField.optional() }),
    response: userResponseSchema,
    handler: async (input, { auth }) => toUserResponse(await users.get(auth, input.user_id ?? auth.userId)),
  });
  defineRpc(router, registry, {
    path: '/v2/user/list',
    summary: 'List users (admin)',
    body: z.object({ limit: limitField, marker: markerField }),
    response: userPageSchema,
    handler: async (input, { auth }) => {
      const page = await users.list(auth, input.marker, input.limit);
      return { items: page.items.map(toUserResponse), next_marker: page.next_marker };
    },
  });
  defineRpc(router, registry, {
    path: '/v2/user/search',
    summary: 'Search users by exact user name, nick name, email or phone, a nick-name fragment, role and status (admin)',
    body: z.object({
      user_name: z.string().max(255).optional(),
      nick_name: z.string().max(256).optional(),
      nick_name_for_fuzzy: z.string().max(256).optional(),
      email: z.string().max(256).optional(),
      phone: z.string().max(64).optional(),
      role: profile.role,
      status: profile.status,
      limit: limitField,
      marker: markerField,
    }),
    response: userPageSchema,
    handler: async ({ limit, marker, ...filter }, { auth }) => {
      const page = await users.search(auth, filter, marker, limit);
      return { items: page.items.map(toUserResponse), next_marker: page.next_marker };
    },
  });
  defineRpc(router, registry, {
    path: '/v2/user/update',
    summary: 'Update a user (admins: users; superadmins: anyone; everyone: their own profile, and their password given old_password)',
    errors: [429],
    body: z.object({
      user_id: idField,
      ...profile,
      // Checked in the service: a stored nick name sent back unchanged is not a new one.
      nick_name: z.string().max(256).optional(),
      // OpenPDS's own field (PDS has no password in UpdateUser): proves a self-service password change.
      old_password: z.string().min(1).max(256).optional().describe('your current password; required to change your own password'),
    }),
    response: userResponseSchema,
    handler: async ({ user_id, ...patch }, { auth }) => toUserResponse(await users.update(auth, user_id, patch)),
  });
  defineRpc(router, registry, {
    path: '/v2/user/delete',
    summary: 'Delete a user and their drives (admin; an admin or superadmin: superadmin)',
    status: 204,
    body: z.object({ user_id: idField }),
    handler: async (input, { auth }) => users.delete(auth, input.user_id),
  });
  return router;
}
