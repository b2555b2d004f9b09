import { ArgumentsHost, Catch, HttpException, HttpStatus, type ExceptionFilter } from '@nestjs/common';
import type { Request, Response } from 'express';
import { InvalidVideoError, isInputError, logger } from '@streamedit/pipeline';
import { IllegalTransitionError, InvalidCursorError, JobNotFoundError } from '@streamedit/farm';
import { PayloadTooLargeError, UnsupportedMediaTypeError } from '../services/upload-errors';

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
    if (status >= 500) this.log.error({ err, method: req.method, url: req.url }, 'request failed');
    if (res.headersSent) {
      res.end();
      return;
    }
    const body: ErrorBody = { statusCode: status, error: HttpStatus[status]?.replace(/_/g, ' ') ?? 'Error', message };
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
    if (err instanceof InvalidVideoError) return [422, err.message];
    if (isInputError(err) || err instanceof InvalidCursorError) return [400, (err as Error).message];
    if (err instanceof JobNotFoundError) return [404, err.message];
    if (err instanceof IllegalTransitionError) return [409, err.message];
    return [500, 'Internal error: the farm logged the details.'];
  }
}
