import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { FarmConfig } from '@streamedit/farm';
import { FARM_CONFIG } from '../api.tokens';
import type { Principal } from './principal';

/** How long a signed events URL (`links.events`) works: long enough to open it, short enough not to matter if leaked. */
export const EVENTS_URL_TTL_S = 600;

/** Who a request with a valid signed events URL acts for: it may read that one job's events, nothing else. */
export const EVENTS_URL_PRINCIPAL: Principal = Object.freeze({ kind: 'events-url', id: 'events-url', role: 'admin' });

/**
 * Short-lived signed URLs for a job's server-sent events, for browsers: an `EventSource` cannot send an
 * `Authorization` header, so `GET /v1/jobs/{id}` (authenticated) hands out `…/events?access=<expiry>.<hmac>`, bound
 * to the job id and valid {@link EVENTS_URL_TTL_S} s. The HMAC key derives from `FARM_AUTH_PEPPER` (or the admin
 * token), so every API replica accepts the others' URLs; with neither set it is random per process.
 */
@Injectable()
export class EventsUrlSigner {
  private readonly key: Buffer;

  constructor(@Inject(FARM_CONFIG) config: FarmConfig) {
    const secret = config.authPepper ?? config.adminToken ?? randomBytes(32).toString('hex');
    this.key = createHash('sha256').update(`streamedit events url\0${secret}`).digest();
  }

  /** The `access` query value for job `id`, valid from `nowMs` for {@link EVENTS_URL_TTL_S} s. */
  sign(id: string, nowMs = Date.now()): string {
    const expires = Math.floor(nowMs / 1000) + EVENTS_URL_TTL_S;
    return `${expires}.${this.mac(id, expires)}`;
  }

  /** Whether `access` was signed for job `id` and has not expired. */
  verify(id: string, access: string, nowMs = Date.now()): boolean {
    const match = /^(\d{1,12})\.([A-Za-z0-9_-]{43})$/.exec(access);
    if (!match) return false;
    const expires = Number(match[1]);
    if (expires * 1000 < nowMs) return false;
    const given = Buffer.from(match[2]!);
    const expected = Buffer.from(this.mac(id, expires));
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  private mac(id: string, expires: number): string {
    return createHmac('sha256', this.key).update(`${id}\0${expires}`).digest('base64url');
  }
}
