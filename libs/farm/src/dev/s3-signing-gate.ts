/**
 * A signature check in front of s3rver, for development and tests only. s3rver (the dev S3 server) does not verify
 * AWS Signature V4 at all: anonymous requests list, read and overwrite any object, and a presigned URL with an
 * altered signature or another key still works. S3 and MinIO refuse all of those; this gate makes the dev store
 * refuse them too, so the farm's own signing (the SDK's requests, presigned result URLs, the API's redirects) is
 * exercised against a store that enforces signatures. It checks the V4 signature of the header form
 * (`Authorization: AWS4-HMAC-SHA256 …`) and of the query form (presigned URLs, with their expiry), then forwards
 * the request unchanged. Not checked: the payload against `x-amz-content-sha256` (taken as signed), chunked
 * payload signatures, and policies (one account sees the whole bucket). Never a production component.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A running gate. */
export interface S3SigningGate {
  /** Where clients send S3 requests (instead of s3rver's own endpoint). */
  readonly endpoint: string;
  close(): Promise<void>;
}

/** Where the gate forwards to, and the only credentials it accepts. */
export interface S3SigningGateOptions {
  /** s3rver's endpoint, e.g. `http://127.0.0.1:4568`. */
  readonly upstream: string;
  readonly credentials: Readonly<Record<string, string>>;
  /** Largest clock difference for header-signed requests [15 min, as S3]. */
  readonly maxSkewMs?: number;
  /** Port to listen on [0: a free one]. */
  readonly port?: number;
}

/** Why a request is refused: S3's error code and message. */
interface Refusal {
  readonly code: string;
  readonly message: string;
}

/** Starts the gate on 127.0.0.1 (`options.port`, or a free port). */
export async function startS3SigningGate(options: S3SigningGateOptions): Promise<S3SigningGate> {
  const upstream = new URL(options.upstream);
  const server = createServer((req, res) => {
    const refusal = verifyRequest(req, options);
    if (refusal) return refuse(req, res, refusal);
    const forward = httpRequest(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: upstream.host },
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on('error', () => res.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((done) => server.listen(options.port ?? 0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}

function refuse(req: IncomingMessage, res: ServerResponse, refusal: Refusal): void {
  req.resume();
  res.writeHead(403, { 'content-type': 'application/xml' });
  res.end(
    `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${refusal.code}</Code><Message>${refusal.message}</Message></Error>`,
  );
}

/** The signature's parts, from the header or the query. */
interface SignatureParts {
  readonly accessKeyId: string;
  readonly scope: string;
  readonly scopeDate: string;
  readonly region: string;
  readonly service: string;
  readonly amzDate: string;
  readonly signedHeaders: readonly string[];
  readonly signature: string;
  readonly payloadHash: string;
  /** Query parameters that are part of the canonical request (all but the signature). */
  readonly query: ReadonlyArray<readonly [string, string]>;
}

/** Null when the request carries a valid V4 signature of known credentials; otherwise why not. */
export function verifyRequest(req: IncomingMessage, options: S3SigningGateOptions, nowMs = Date.now()): Refusal | null {
  const url = new URL(req.url ?? '/', 'http://gate');
  const rawQuery = parseQuery(url.search.slice(1));
  const viaQuery = rawQuery.some(([k]) => k === 'X-Amz-Algorithm');
  const header = req.headers.authorization;
  if (!header && !viaQuery) return { code: 'AccessDenied', message: 'Anonymous requests are refused.' };
  const parts = viaQuery ? fromQuery(rawQuery) : fromHeader(header!, req, rawQuery);
  if ('code' in parts) return parts;
  const secret = options.credentials[parts.accessKeyId];
  if (secret === undefined) return { code: 'InvalidAccessKeyId', message: 'Unknown access key.' };
  const requestTime = parseAmzDate(parts.amzDate);
  if (Number.isNaN(requestTime) || parts.amzDate.slice(0, 8) !== parts.scopeDate)
    return { code: 'AccessDenied', message: 'Bad X-Amz-Date.' };
  if (viaQuery) {
    const expires = Number(rawQuery.find(([k]) => k === 'X-Amz-Expires')?.[1]);
    if (!Number.isInteger(expires) || expires < 1 || expires > 604_800)
      return { code: 'AuthorizationQueryParametersError', message: 'Bad X-Amz-Expires.' };
    if (nowMs > requestTime + expires * 1000) return { code: 'AccessDenied', message: 'Request has expired.' };
  } else if (Math.abs(nowMs - requestTime) > (options.maxSkewMs ?? 15 * 60_000)) {
    return { code: 'RequestTimeTooSkewed', message: 'The request time is too far from the server time.' };
  }
  const canonicalHeaders = parts.signedHeaders.map((name) => `${name}:${headerValue(req, name)}\n`).join('');
  const canonicalRequest = [
    req.method,
    url.pathname,
    canonicalQuery(parts.query),
    canonicalHeaders,
    parts.signedHeaders.join(';'),
    parts.payloadHash,
  ].join('\n');
  const stringToSign = ['AWS4-HMAC-SHA256', parts.amzDate, parts.scope, sha256(canonicalRequest)].join('\n');
  let key: Buffer = hmac(`AWS4${secret}`, parts.scopeDate);
  for (const part of [parts.region, parts.service, 'aws4_request']) key = hmac(key, part);
  const expected = Buffer.from(hmac(key, stringToSign).toString('hex'));
  const given = Buffer.from(parts.signature);
  if (given.length !== expected.length || !timingSafeEqual(given, expected))
    return { code: 'SignatureDoesNotMatch', message: 'The request signature does not match.' };
  return null;
}

function fromQuery(query: ReadonlyArray<readonly [string, string]>): SignatureParts | Refusal {
  const get = (k: string) => query.find(([name]) => name === k)?.[1];
  const credential = get('X-Amz-Credential');
  const signature = get('X-Amz-Signature');
  const amzDate = get('X-Amz-Date');
  const signed = get('X-Amz-SignedHeaders');
  if (get('X-Amz-Algorithm') !== 'AWS4-HMAC-SHA256' || !credential || !signature || !amzDate || !signed)
    return { code: 'AuthorizationQueryParametersError', message: 'Incomplete query-string signature.' };
  const scope = parseCredential(credential);
  if (!scope) return { code: 'AuthorizationQueryParametersError', message: 'Bad X-Amz-Credential.' };
  return {
    ...scope,
    amzDate,
    signedHeaders: signed.split(';'),
    signature,
    payloadHash: 'UNSIGNED-PAYLOAD',
    query: query.filter(([k]) => k !== 'X-Amz-Signature'),
  };
}

function fromHeader(
  header: string,
  req: IncomingMessage,
  query: ReadonlyArray<readonly [string, string]>,
): SignatureParts | Refusal {
  const match = /^AWS4-HMAC-SHA256\s+Credential=([^,\s]+),\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-f]{64})$/.exec(
    header.trim(),
  );
  const amzDate = req.headers['x-amz-date'];
  const payloadHash = req.headers['x-amz-content-sha256'];
  if (!match || typeof amzDate !== 'string' || typeof payloadHash !== 'string')
    return { code: 'AuthorizationHeaderMalformed', message: 'Only AWS Signature V4 headers are accepted.' };
  const scope = parseCredential(match[1]!);
  if (!scope) return { code: 'AuthorizationHeaderMalformed', message: 'Bad credential scope.' };
  const signedHeaders = match[2]!.split(';');
  if (!signedHeaders.includes('host'))
    return { code: 'AuthorizationHeaderMalformed', message: 'The host header must be signed.' };
  return { ...scope, amzDate, signedHeaders, signature: match[3]!, payloadHash, query };
}

function parseCredential(
  credential: string,
): Pick<SignatureParts, 'accessKeyId' | 'scope' | 'scopeDate' | 'region' | 'service'> | null {
  const [accessKeyId, scopeDate, region, service, terminator, ...rest] = credential.split('/');
  if (!accessKeyId || !scopeDate || !region || service !== 's3' || terminator !== 'aws4_request' || rest.length)
    return null;
  return { accessKeyId, scope: `${scopeDate}/${region}/${service}/${terminator}`, scopeDate, region, service };
}

/** `key=value` pairs of a raw query string, decoded. */
function parseQuery(raw: string): Array<[string, string]> {
  if (!raw) return [];
  return raw.split('&').map((pair) => {
    const eq = pair.indexOf('=');
    const decode = (s: string) => decodeURIComponent(s.replace(/\+/g, '%20'));
    return eq < 0 ? [decode(pair), ''] : [decode(pair.slice(0, eq)), decode(pair.slice(eq + 1))];
  });
}

/** SigV4's canonical query string: each name and value RFC 3986-encoded, sorted by name, then value. */
function canonicalQuery(query: ReadonlyArray<readonly [string, string]>): string {
  return query
    .map(([k, v]) => [encodeRfc3986(k), encodeRfc3986(v)] as const)
    .sort(([ka, va], [kb, vb]) => (ka < kb ? -1 : ka > kb ? 1 : va < vb ? -1 : va > vb ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
}

function encodeRfc3986(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function headerValue(req: IncomingMessage, name: string): string {
  const value = req.headers[name];
  const joined = Array.isArray(value) ? value.join(',') : (value ?? '');
  return joined.trim().replace(/\s+/g, ' ');
}

/** `20260101T120000Z` → epoch ms (NaN when malformed). */
function parseAmzDate(s: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  return m ? Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!) : Number.NaN;
}

function sha256(s: string): string {
  return createHash('sha256').update(s, 'utf8').digest('hex');
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}
