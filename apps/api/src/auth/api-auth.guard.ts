import { ForbiddenException, Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { logger } from '@streamedit/pipeline';
import { RateLimiter, resolveAuth, type FarmConfig } from '@streamedit/farm';
import { FARM_CONFIG } from '../api.tokens';
import { TooManyRequestsError, UnauthorizedError } from '../security/http-errors';
import { ACCESS_KEY, EVENTS_URL_KEY, type Access } from './auth.decorators';
import { Authenticator } from './authenticator';
import { EVENTS_URL_PRINCIPAL, EventsUrlSigner } from './events-url';
import { ANONYMOUS, setPrincipal, type Principal } from './principal';

/**
 * The API's one gate, on every route (a global guard: a new route is closed unless marked `@Public()`):
 * authenticates the request (401), checks the route's role (403 for a user key on an admin route), and takes one
 * token from the key's rate-limit bucket (429 with `Retry-After`). With auth off every request acts as
 * {@link ANONYMOUS} and nothing is limited.
 */
@Injectable()
export class ApiAuthGuard implements CanActivate {
  private readonly enabled: boolean;
  private readonly log = logger('api');

  constructor(
    private readonly reflector: Reflector,
    private readonly authenticator: Authenticator,
    private readonly limiter: RateLimiter,
    private readonly eventsUrls: EventsUrlSigner,
    @Inject(FARM_CONFIG) private readonly config: FarmConfig,
  ) {
    this.enabled = resolveAuth(config).enabled;
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const access =
      this.reflector.getAllAndOverride<Access | undefined>(ACCESS_KEY, [context.getHandler(), context.getClass()]) ??
      'user';
    if (access === 'public') return true;
    const req = context.switchToHttp().getRequest<Request>();
    if (!this.enabled) {
      setPrincipal(req, ANONYMOUS);
      return true;
    }
    if (this.signedEventsUrl(context, req)) {
      setPrincipal(req, EVENTS_URL_PRINCIPAL);
      return true;
    }
    const result = await this.authenticator.authenticate(req.get('authorization'));
    if (!result.ok) throw new UnauthorizedError(result.message);
    const { principal } = result;
    if (access === 'admin' && principal.role !== 'admin')
      throw new ForbiddenException('This route is for operators: it needs an admin API key.');
    await this.limit(principal);
    setPrincipal(req, principal);
    return true;
  }

  /** A request without a header on a route that takes signed events URLs, carrying a valid one for its job. */
  private signedEventsUrl(context: ExecutionContext, req: Request): boolean {
    if (req.get('authorization') !== undefined) return false;
    if (!this.reflector.get<boolean | undefined>(EVENTS_URL_KEY, context.getHandler())) return false;
    const access = req.query.access;
    return (
      typeof access === 'string' && typeof req.params.id === 'string' && this.eventsUrls.verify(req.params.id, access)
    );
  }

  /** One token from the key's bucket; the admin token is an operator's bootstrap credential and is not limited. */
  private async limit(principal: Principal): Promise<void> {
    if (principal.kind !== 'api-key') return;
    const decision = await this.limiter.take(principal.id, {
      ratePerS: principal.key?.ratePerS ?? this.config.rateLimitPerS,
      burst: principal.key?.burst ?? this.config.rateBurst,
    });
    if (decision.allowed) return;
    this.log.info({ key: principal.id, retryAfterS: decision.retryAfterS }, 'rate limited');
    throw new TooManyRequestsError(
      `Too many requests for this API key: wait ${decision.retryAfterS} s (Retry-After), then send again.`,
      decision.retryAfterS,
    );
  }
}
