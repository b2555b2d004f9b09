import { HttpException, Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { Request, Response } from 'express';
import { resolveAuth, type FarmConfig } from '@streamedit/farm';
import { FARM_CONFIG } from '../api.tokens';
import { Authenticator } from '../auth/authenticator';
import { ADMIN_REALM, isCrossSite, verifyAdmin } from './admin-auth';

/**
 * The admin check on the admin controllers themselves, so they stay closed even where `mountAdmin`'s gate in front
 * of `/admin` is missing (an app built without it, a route moved). Same rules as the gate (admin API keys too).
 */
@Injectable()
export class AdminGuard implements CanActivate {
  constructor(
    @Inject(FARM_CONFIG) private readonly config: FarmConfig,
    private readonly authenticator: Authenticator,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context.switchToHttp().getRequest<Request>();
    const verdict = await verifyAdmin(
      this.config.adminToken,
      req.get('authorization'),
      this.authenticator,
      resolveAuth(this.config).enabled,
    );
    if (!verdict.ok) {
      if (verdict.challenge) {
        context
          .switchToHttp()
          .getResponse<Response>()
          .setHeader('WWW-Authenticate', `Basic realm="${ADMIN_REALM}", charset="UTF-8"`);
      }
      throw new HttpException(verdict.message, verdict.status);
    }
    if (isCrossSite(req))
      throw new HttpException('Cross-site admin requests are refused: use the dashboard at /admin.', 403);
    return true;
  }
}
