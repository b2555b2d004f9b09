import { json, type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import type { ErrorBody } from './api-exception.filter';

/**
 * JSON bodies (64 KiB at most), parsed here instead of by Nest's default parser so that a malformed body is answered
 * with the API's error body and a message that says so (Nest would pass on the bare parser message). Multipart
 * bodies are untouched: `POST /v1/jobs` streams them itself.
 */
export function jsonBody(): RequestHandler {
  const parse = json({ limit: '64kb' });
  return (req: Request, res: Response, next: NextFunction) => {
    parse(req, res, (err?: unknown) => {
      if (!err) return next();
      const e = err as { type?: string; status?: number; message?: string };
      const status = e.type === 'entity.too.large' ? 413 : (e.status ?? 400);
      const message =
        e.type === 'entity.parse.failed'
          ? `The request body is not valid JSON (${e.message}): fix the syntax and send it again.`
          : `The request body cannot be read (${e.message ?? 'unknown error'}).`;
      const body: ErrorBody = {
        statusCode: status,
        error: status === 413 ? 'Payload Too Large' : 'Bad Request',
        message,
      };
      res.status(status).json(body);
    });
  };
}
