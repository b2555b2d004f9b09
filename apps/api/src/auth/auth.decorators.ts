import { createParamDecorator, SetMetadata, type ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';
import { principalOf, type Principal } from './principal';

/** Metadata key of a route's access level (read by `ApiAuthGuard`). */
export const ACCESS_KEY = 'streamedit:access';
/** `public`: anyone; `user`: any valid API key (the default of every route); `admin`: an admin key or the admin token. */
export type Access = 'public' | 'user' | 'admin';

/** Anyone may call this route (health, queue depths for KEDA, looks, docs). */
export const Public = () => SetMetadata(ACCESS_KEY, 'public' satisfies Access);
/** Only admins (an admin API key or `FARM_ADMIN_TOKEN`). */
export const AdminOnly = () => SetMetadata(ACCESS_KEY, 'admin' satisfies Access);

/** The request's {@link Principal} as a handler parameter. */
export const CurrentPrincipal = createParamDecorator((_data: unknown, ctx: ExecutionContext): Principal =>
  principalOf(ctx.switchToHttp().getRequest<Request>()),
);

/** Metadata key of a route that also accepts a signed events URL (`?access=…`, see `EventsUrlSigner`). */
export const EVENTS_URL_KEY = 'streamedit:events-url';
/** The route (a job's events) also accepts a signed events URL for the job in its `:id` parameter. */
export const AcceptsEventsUrl = () => SetMetadata(EVENTS_URL_KEY, true);
