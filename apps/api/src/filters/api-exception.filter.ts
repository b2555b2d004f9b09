import { STATUS_CODES } from 'node:http';
import { ArgumentsHost, Catch, HttpException, type ExceptionFilter } from '@nestjs/common';
import type { Request, Response } from 'express';
import { InvalidVideoError, isInputError, logger } from '@streamedit/pipeline';
import { IllegalTransitionError, InvalidCursorError, isTransientError, JobNotFoundError } from '@streamedit/farm';
import { HttpErrorWithHeaders } from '../security/http-errors';
import { PayloadTooLargeError, UnprocessableUploadError, UnsupportedMediaTypeError } from '../services/upload-errors';

/** The one error body of the API: `{ statusCode, error, message }`; `message` is one sentence saying what to fix. */
export interface ErrorBody {
  statusCode: number;
  error: string;
  message: string;
}

/**
 * Maps every error to a status and a message a client can act on: bad input 400 (an unusable video 422), unknown
 * job 404, wrong state 409, too large 413; anything else is a 500 whose details go to the log only.
 */
@Catch()
export class ApiExceptionFilter implements ExceptionFilter {
  private readonly log = logger('api');

  catch(err: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const res = http.getResponse<Response>();
    const req = http.getRequest<Request>();
    const [status, message] = this.classify(err);
    if (status >= 500) this.log.error({ err, method: req.method, url: req.path }, 'request failed');
    if (res.headersSent) {
      // Part of a body was sent: cut the connection, so the client sees an incomplete transfer, never a short file.
      res.destroy();
      return;
    }
    if (err instanceof HttpErrorWithHeaders) res.set(err.headers);
    else if (status === 503) res.set('Retry-After', '5');
    const body: ErrorBody = { statusCode: status, error: statusName(status), message };
    res.status(status).json(body);
  }

  private classify(err: unknown): [number, string] {
    if (err instanceof HttpException) {
      const r = err.getResponse();
      const message = typeof r === 'string' ? r : (r as { message?: string | string[] }).message;
      return [err.getStatus(), Array.isArray(message) ? message.join('; ') : (message ?? err.message)];
    }
    if (err instanceof PayloadTooLargeError) return [413, err.message];
    if (err instanceof UnsupportedMediaTypeError) return [415, err.message];
    if (err instanceof InvalidVideoError || err instanceof UnprocessableUploadError) return [422, err.message];
    if (isInputError(err) || err instanceof InvalidCursorError) return [400, (err as Error).message];
    if (err instanceof JobNotFoundError) return [404, err.message];
    if (err instanceof IllegalTransitionError) return [409, err.message];
    if (isRedisUnavailable(err))
      return [503, "The farm's job database (Redis) is not reachable right now: send the request again shortly."];
    if (isTransientError(err))
      return [503, 'The artifact storage is not reachable right now: send the request again shortly.'];
    return [500, 'Internal error: the farm logged the details.'];
  }
}

/** The reason phrase of `status` as HTTP names it ("Unauthorized", "Too Many Requests"): one casing everywhere. */
export function statusName(status: number): string {
  return STATUS_CODES[status] ?? 'Error';
}

/** ioredis' errors for a connection that is down (the request could not reach Redis at all). */
function isRedisUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  return (
    err.name === 'MaxRetriesPerRequestError' ||
    /^(Connection is closed\.|Stream isn't writeable|Command timed out)/.test(err.message) ||
    (err as { code?: string }).code === 'ECONNREFUSED'
  );
}
