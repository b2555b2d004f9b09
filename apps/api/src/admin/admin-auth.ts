import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { looksLikeApiKey } from '@streamedit/farm';
import type { Authenticator } from '../auth/authenticator';
import { credentialOf, sameSecret } from '../auth/credentials';
import type { ErrorBody } from '../filters/api-exception.filter';

/** The realm browsers show in their basic-auth prompt. */
export const ADMIN_REALM = 'StreamEdit admin';

/** The verdict on one request's admin credential. */
export type AdminVerdict =
  | { readonly ok: true }
  | { readonly ok: false; readonly status: 401 | 403; readonly message: string; readonly challenge: boolean };

/**
 * Checks a request against `FARM_ADMIN_TOKEN`. The credential is `Authorization: Bearer <token>` (scripts) or HTTP
 * basic auth with the token as password, any user name (browsers: they prompt once and resend it for every page,
 * image, video and poll of the dashboard). No token configured: 403, never open. Missing or wrong: 401 with a
 * basic-auth challenge (a wrong password in the browser's prompt prompts again). The comparison is constant-time
 * over SHA-256 digests, and neither the token nor what was sent is ever logged or echoed.
 */
export function checkAdminCredential(token: string | undefined, authorization: string | undefined): AdminVerdict {
  if (!token) {
    return {
      ok: false,
      status: 403,
      challenge: false,
      message:
        'The admin UI is disabled: set FARM_ADMIN_TOKEN (at least 16 characters) on the API to enable it, or send an admin API key (sek_…).',
    };
  }
  const sent = credentialOf(authorization);
  if (sent === undefined) {
    return {
      ok: false,
      status: 401,
      challenge: true,
      message:
        'Admin credential required: send "Authorization: Bearer <FARM_ADMIN_TOKEN>" or basic auth with the token as password.',
    };
  }
  if (!sameSecret(sent, token)) {
    return {
      ok: false,
      status: 401,
      challenge: true,
      message: 'The admin credential is wrong: use the FARM_ADMIN_TOKEN of this API.',
    };
  }
  return { ok: true };
}

/**
 * The admin check with API keys: an admin API key (`sek_…`, as Bearer token or basic-auth password) is accepted
 * like `FARM_ADMIN_TOKEN`, which stays the bootstrap credential; a user key is refused (403). Any other credential
 * is checked as before by {@link checkAdminCredential}. With auth on and no token set, a missing credential gets
 * a basic-auth challenge (so a browser can sign in with an admin key) instead of "disabled".
 */
export async function verifyAdmin(
  token: string | undefined,
  authorization: string | undefined,
  authenticator: Authenticator,
  authEnabled: boolean,
): Promise<AdminVerdict> {
  const sent = credentialOf(authorization);
  if (sent !== undefined && looksLikeApiKey(sent)) {
    const result = await authenticator.authenticate(authorization);
    if (!result.ok) return { ok: false, status: 401, challenge: true, message: result.message };
    if (result.principal.role !== 'admin')
      return {
        ok: false,
        status: 403,
        challenge: false,
        message: 'This API key is a user key: the admin UI needs an admin key.',
      };
    return { ok: true };
  }
  if (!token && authEnabled && sent === undefined) {
    return {
      ok: false,
      status: 401,
      challenge: true,
      message:
        'Admin credential required: send an admin API key as "Authorization: Bearer sek_…" or as the basic-auth password.',
    };
  }
  return checkAdminCredential(token, authorization);
}

/**
 * A request from another site's page: browsers resend basic-auth credentials on their own, so a form on any page
 * could otherwise post admin actions (CSRF). Unsafe methods must come from the dashboard's own origin.
 */
export function isCrossSite(req: Request): boolean {
  if (['GET', 'HEAD', 'OPTIONS'].includes(req.method)) return false;
  if (req.get('sec-fetch-site') === 'cross-site') return true;
  const origin = req.get('origin');
  if (!origin) return false;
  try {
    return new URL(origin).host !== req.get('host');
  } catch {
    return true;
  }
}

/** Express middleware guarding everything under `/admin` (dashboard, its API, bull-board). */
export function adminGate(
  token: string | undefined,
  authenticator: Authenticator,
  authEnabled: boolean,
): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    verifyAdmin(token, req.get('authorization'), authenticator, authEnabled).then((verdict) => {
      if (!verdict.ok) {
        if (verdict.challenge) res.setHeader('WWW-Authenticate', `Basic realm="${ADMIN_REALM}", charset="UTF-8"`);
        return sendError(res, verdict.status, verdict.message);
      }
      if (isCrossSite(req))
        return sendError(res, 403, 'Cross-site admin requests are refused: use the dashboard at /admin.');
      // Admin pages and answers are per-operator and live: never cached by proxies or the browser.
      res.setHeader('Cache-Control', 'no-store');
      next();
    }, next);
  };
}

function sendError(res: Response, status: 401 | 403, message: string): void {
  const body: ErrorBody = { statusCode: status, error: status === 401 ? 'Unauthorized' : 'Forbidden', message };
  res.status(status).json(body);
}
