import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Redis } from 'ioredis';

/** What an API key may do: `user` sees and manages its own jobs; `admin` sees every job and the operators' routes. */
export const API_KEY_ROLES = ['user', 'admin'] as const;
export type ApiKeyRole = (typeof API_KEY_ROLES)[number];

/** Redis keys of the API keys (under `farm:`, beside the job records). */
export const API_KEY_KEYS = {
  record: (id: string) => `farm:apikey:${id}`,
  /** Every key id, scored by creation time (ms). */
  all: 'farm:apikeys',
} as const;

/**
 * A stored API key, as the farm knows it: never the key itself, only an HMAC-SHA256 of its secret. `id` is the
 * public part of the key: it names the key in logs and in job records (`owner`), so it is never a secret.
 */
export interface ApiKey {
  readonly id: string;
  readonly role: ApiKeyRole;
  /** Free text the operator gave at creation ("ci", "alice"); never used for decisions. */
  readonly name: string;
  readonly createdAt: string;
  /** Set once revoked: the key no longer authenticates. */
  readonly revokedAt: string | null;
  /** Per-key overrides of `FARM_MAX_ACTIVE_JOBS`, `FARM_RATE_LIMIT`, `FARM_RATE_BURST` (null: the setting). */
  readonly maxActiveJobs: number | null;
  readonly ratePerS: number | null;
  readonly burst: number | null;
}

/** Limits a new key may carry instead of the farm-wide settings. */
export interface ApiKeyLimits {
  readonly maxActiveJobs?: number;
  readonly ratePerS?: number;
  readonly burst?: number;
}

/** The prefix of every key, so leaked keys are recognisable by secret scanners. */
export const API_KEY_PREFIX = 'sek';
/** `sek_<12 hex id>_<43 base64url secret>`: the id finds the record in O(1), the secret (256 bits) proves it. */
const KEY_FORMAT = /^sek_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;
/** Used when `FARM_AUTH_PEPPER` is unset: public, so it only separates this hash from any other use of SHA-256. */
const DEFAULT_PEPPER = 'streamedit-farm-api-key-v1';

/** Writes a key's hash unless the id is taken, and indexes it. KEYS: record, index; ARGV: score, field pairs. */
const CREATE_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local args = {}
for i = 2, #ARGV do args[#args + 1] = ARGV[i] end
redis.call('HSET', KEYS[1], unpack(args))
redis.call('ZADD', KEYS[2], ARGV[1], string.match(KEYS[1], '[^:]+$'))
return 1
`;

/** Whether a credential has the shape of an API key (as opposed to, say, the admin token). */
export function looksLikeApiKey(credential: string): boolean {
  return KEY_FORMAT.test(credential);
}

/**
 * The API keys in Redis: a hash per key holding the HMAC-SHA256 (keyed with the server pepper) of its secret, its
 * role and limits. Verification is one HGETALL and a constant-time comparison: cheap enough for every request
 * (a slow KDF such as scrypt buys nothing for 256-bit random secrets and would cost milliseconds per request).
 */
export class ApiKeyRepository {
  private readonly pepper: string;

  constructor(
    private readonly redis: Redis,
    pepper: string | undefined,
  ) {
    this.pepper = pepper ?? DEFAULT_PEPPER;
  }

  /** Creates a key; returns the record and the key itself, which exists only in this return value. */
  async create(role: ApiKeyRole, name = '', limits: ApiKeyLimits = {}): Promise<{ key: string; record: ApiKey }> {
    const id = randomBytes(6).toString('hex');
    const secret = randomBytes(32).toString('base64url');
    const record: ApiKey = {
      id,
      role,
      name: name.slice(0, 100),
      createdAt: new Date().toISOString(),
      revokedAt: null,
      maxActiveJobs: limits.maxActiveJobs ?? null,
      ratePerS: limits.ratePerS ?? null,
      burst: limits.burst ?? null,
    };
    const fields = Object.entries({ ...toHash(record), hash: this.hash(secret) }).flat();
    // 48 random bits: a collision is astronomically unlikely, but never overwrite another key.
    const created = await this.redis.eval(
      CREATE_SCRIPT,
      2,
      API_KEY_KEYS.record(id),
      API_KEY_KEYS.all,
      String(Date.now()),
      ...fields,
    );
    if (created !== 1) throw new Error(`API key id ${id} exists already: create the key again.`);
    return { key: `${API_KEY_PREFIX}_${id}_${secret}`, record };
  }

  /** The key a credential proves, or null (malformed, unknown, wrong secret, revoked). */
  async verify(credential: string): Promise<ApiKey | null> {
    const m = KEY_FORMAT.exec(credential);
    if (!m) return null;
    const hash = await this.redis.hgetall(API_KEY_KEYS.record(m[1]!));
    if (!hash.hash || !sameDigest(hash.hash, this.hash(m[2]!))) return null;
    const record = fromHash(hash);
    return record.revokedAt ? null : record;
  }

  async get(id: string): Promise<ApiKey | null> {
    if (!/^[0-9a-f]{12}$/.test(id)) return null;
    const hash = await this.redis.hgetall(API_KEY_KEYS.record(id));
    return hash.role ? fromHash(hash) : null;
  }

  /** Every key, oldest first (revoked ones too: they say who owned old jobs). */
  async list(): Promise<ApiKey[]> {
    const ids = await this.redis.zrange(API_KEY_KEYS.all, '0', '-1');
    const out: ApiKey[] = [];
    for (const id of ids) {
      const key = await this.get(id);
      if (key) out.push(key);
    }
    return out;
  }

  /** Revokes a key (kept, marked revoked). Returns false when there is no such key. */
  async revoke(id: string): Promise<boolean> {
    if (!(await this.get(id))) return false;
    await this.redis.hset(API_KEY_KEYS.record(id), 'revokedAt', new Date().toISOString());
    return true;
  }

  private hash(secret: string): string {
    return createHmac('sha256', this.pepper).update(secret, 'utf8').digest('hex');
  }
}

function sameDigest(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && timingSafeEqual(x, y);
}

function toHash(record: ApiKey): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(record)) out[k] = v === null ? '' : String(v);
  return out;
}

function fromHash(hash: Record<string, string>): ApiKey {
  const num = (v: string | undefined) => (v ? Number(v) : null);
  return {
    id: hash.id!,
    role: hash.role === 'admin' ? 'admin' : 'user',
    name: hash.name ?? '',
    createdAt: hash.createdAt ?? '',
    revokedAt: hash.revokedAt || null,
    maxActiveJobs: num(hash.maxActiveJobs),
    ratePerS: num(hash.ratePerS),
    burst: num(hash.burst),
  };
}
