import type { Request } from 'express';
import type { ApiKey, ApiKeyRole, JobRecord } from '@streamedit/farm';

/**
 * Who a request acts for. `api-key`: a stored key (its id owns the jobs it creates). `admin-token`: the operators'
 * `FARM_ADMIN_TOKEN` (the bootstrap admin credential). `operator`: the admin UI acting on an admin's behalf.
 * `anonymous`: auth is off (`FARM_AUTH=off`, dev mode), and the API behaves as before keys existed.
 * `events-url`: a signed events URL, which the auth guard accepts on that one job's events route only.
 */
export interface Principal {
  readonly kind: 'api-key' | 'admin-token' | 'operator' | 'anonymous' | 'events-url';
  /** The key id (public), or the kind itself for the others. Safe to log. */
  readonly id: string;
  readonly role: ApiKeyRole;
  readonly key?: ApiKey;
}

/** Auth off: every request may do everything, as in embedded/dev mode before keys existed. */
export const ANONYMOUS: Principal = Object.freeze({ kind: 'anonymous', id: 'anonymous', role: 'admin' });
/** The admin UI's own actions (already behind the admin gate). */
export const OPERATOR: Principal = Object.freeze({ kind: 'operator', id: 'operator', role: 'admin' });

const principals = new WeakMap<Request, Principal>();

/** Remembers who `req` acts for (set by the auth guard). */
export function setPrincipal(req: Request, principal: Principal): void {
  principals.set(req, principal);
}

/** Who `req` acts for; throws when the auth guard did not run (a route wired wrongly must fail closed). */
export function principalOf(req: Request): Principal {
  const p = principals.get(req);
  if (!p) throw new Error(`No principal on ${req.method} ${req.path}: the auth guard did not run for this route.`);
  return p;
}

/** The owner a new job records: the key's id; null for the admin token and for auth off. */
export function ownerOf(principal: Principal): string | null {
  return principal.kind === 'api-key' ? principal.id : null;
}

/** Admins see every job; a user key sees the jobs it created, and no other (they answer 404, as if absent). */
export function canSee(principal: Principal, record: Pick<JobRecord, 'owner'>): boolean {
  return principal.role === 'admin' || (record.owner ?? null) === principal.id;
}

/** The owner filter of a listing: none for admins, the key's own jobs otherwise. */
export function listOwner(principal: Principal): string | undefined {
  return principal.role === 'admin' ? undefined : principal.id;
}
