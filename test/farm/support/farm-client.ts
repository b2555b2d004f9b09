import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** The parts of a `POST /v1/jobs` form: text fields, and files by path (or raw bytes). */
export interface JobForm {
  readonly video?: string | { name: string; bytes: Uint8Array<ArrayBuffer> };
  readonly fields?: Record<string, string>;
  readonly files?: Record<string, string>;
}

export async function jobForm(form: JobForm): Promise<FormData> {
  const data = new FormData();
  if (typeof form.video === 'string')
    data.append('video', new Blob([await readFile(form.video)]), basename(form.video));
  else if (form.video) data.append('video', new Blob([form.video.bytes]), form.video.name);
  for (const [name, value] of Object.entries(form.fields ?? {})) data.append(name, value);
  for (const [name, path] of Object.entries(form.files ?? {}))
    data.append(name, new Blob([await readFile(path)]), basename(path));
  return data;
}

export async function postJob(
  base: string,
  form: JobForm,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${base}/v1/jobs`, { method: 'POST', body: await jobForm(form), headers });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

export async function getJson(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** Polls `GET /v1/jobs/:id` until `until` holds for the job. */
export async function pollJob(
  base: string,
  id: string,
  until: (job: Record<string, unknown>) => boolean,
  timeoutMs = 60_000,
): Promise<Record<string, unknown>> {
  const started = Date.now();
  for (;;) {
    const { status, body } = await getJson(`${base}/v1/jobs/${id}`);
    if (status !== 200) throw new Error(`GET job ${id}: ${status} ${JSON.stringify(body)}`);
    if (until(body)) return body;
    if (Date.now() - started > timeoutMs)
      throw new Error(`Job ${id} did not reach the expected state: ${JSON.stringify(body)}`);
    await sleep(100);
  }
}

/** One server-sent event. */
export interface SseEvent {
  readonly event: string;
  readonly data: Record<string, unknown>;
}

/** Reads an SSE stream until the server ends it. */
export async function readSse(url: string, signal?: AbortSignal): Promise<{ status: number; events: SseEvent[] }> {
  const res = await fetch(url, { signal, headers: { accept: 'text/event-stream' } });
  const events: SseEvent[] = [];
  if (res.status !== 200 || !res.body) return { status: res.status, events };
  let buffer = '';
  const decoder = new TextDecoder();
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = /^event: ?(.*)$/m.exec(block)?.[1] ?? 'message';
      const data = block
        .split('\n')
        .filter((l) => l.startsWith('data:'))
        .map((l) => l.replace(/^data: ?/, ''))
        .join('\n');
      if (data) events.push({ event, data: JSON.parse(data) as Record<string, unknown> });
    }
  }
  return { status: res.status, events };
}
