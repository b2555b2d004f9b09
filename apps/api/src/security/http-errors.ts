import { HttpException } from '@nestjs/common';

/** An HTTP error that also sets response headers (`Retry-After`, `WWW-Authenticate`); the exception filter sends them. */
export class HttpErrorWithHeaders extends HttpException {
  constructor(
    status: number,
    message: string,
    readonly headers: Readonly<Record<string, string>>,
  ) {
    super(message, status);
  }
}

/** 401: no credential, or one that proves nothing. The challenge tells clients to send a Bearer key. */
export class UnauthorizedError extends HttpErrorWithHeaders {
  constructor(message: string) {
    super(401, message, { 'WWW-Authenticate': 'Bearer realm="StreamEdit Farm"' });
  }
}

/** 429: a rate limit or quota; `Retry-After` says when trying again makes sense. */
export class TooManyRequestsError extends HttpErrorWithHeaders {
  constructor(message: string, retryAfterS: number) {
    super(429, message, { 'Retry-After': String(Math.max(1, Math.ceil(retryAfterS))) });
  }
}

/** 503: a service the farm depends on (Redis, storage) does not answer; the request may be sent again later. */
export class ServiceUnavailableError extends HttpErrorWithHeaders {
  constructor(message: string, retryAfterS = 5) {
    super(503, message, { 'Retry-After': String(retryAfterS) });
  }
}
