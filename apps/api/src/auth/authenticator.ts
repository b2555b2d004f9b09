import { Inject, Injectable } from '@nestjs/common';
import { ApiKeyRepository, looksLikeApiKey, type FarmConfig } from '@streamedit/farm';
import { FARM_CONFIG } from '../api.tokens';
import { credentialOf, sameSecret } from './credentials';
import type { Principal } from './principal';

/** The verdict on a request's credential. */
export type AuthResult =
  { readonly ok: true; readonly principal: Principal } | { readonly ok: false; readonly message: string };

/**
 * Turns an `Authorization` header into a {@link Principal}: an API key (`sek_…`, checked against its stored hash)
 * or `FARM_ADMIN_TOKEN` (the bootstrap admin credential, compared in constant time). Neither the credential nor
 * anything derived from it is logged or echoed; messages say only what to send.
 */
@Injectable()
export class Authenticator {
  constructor(
    private readonly keys: ApiKeyRepository,
    @Inject(FARM_CONFIG) private readonly config: FarmConfig,
  ) {}

  async authenticate(authorization: string | undefined): Promise<AuthResult> {
    const credential = credentialOf(authorization);
    if (credential === undefined) {
      return {
        ok: false,
        message:
          'An API key is required: send "Authorization: Bearer <key>" (an operator creates keys with `npm run farm:keys -- create`).',
      };
    }
    if (looksLikeApiKey(credential)) {
      const key = await this.keys.verify(credential);
      if (!key) return { ok: false, message: 'The API key is unknown or revoked: ask an operator for a valid key.' };
      return { ok: true, principal: { kind: 'api-key', id: key.id, role: key.role, key } };
    }
    if (this.config.adminToken && sameSecret(credential, this.config.adminToken)) {
      return { ok: true, principal: { kind: 'admin-token', id: 'admin-token', role: 'admin' } };
    }
    return { ok: false, message: 'The credential is not a valid API key: send "Authorization: Bearer sek_…".' };
  }
}
