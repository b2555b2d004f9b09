import type { ProgressEvent } from '@streamedit/pipeline';

/**
 * The line protocol between a stage's child process and `runInChildProcess`: the child writes one JSON object per
 * line on stdout; anything else on stdout is ignored, stderr is kept for error messages.
 *
 * ```
 * {"type":"progress","stage":"train","done":120,"total":2000,"info":{"loss":0.03}}
 * {"type":"result","value":{…}}                 the child's answer (at most one; the last one wins)
 * {"type":"error","message":"…","input":true}   a failure; input=true means bad input (InputError in the parent)
 * ```
 *
 * A Python child (the PyTorch trainer) speaks the same protocol: one `json.dumps(...)` per line, flushed.
 */
export type ChildMessage =
  | ({ readonly type: 'progress' } & ProgressEvent)
  | { readonly type: 'result'; readonly value: unknown }
  | { readonly type: 'error'; readonly message: string; readonly input?: boolean };

/** Parses one stdout line; null when it is not a protocol message. */
export function parseChildLine(line: string): ChildMessage | null {
  if (!line.startsWith('{')) return null;
  try {
    const msg = JSON.parse(line) as { type?: unknown };
    if (msg.type === 'progress' || msg.type === 'result' || msg.type === 'error') return msg as ChildMessage;
  } catch {
    // not JSON: a stray print
  }
  return null;
}

function send(msg: ChildMessage): void {
  process.stdout.write(`${JSON.stringify(msg)}\n`);
}

/** In a child: reports progress to the parent. */
export function sendProgress(event: ProgressEvent): void {
  send({ type: 'progress', ...event });
}

/**
 * In a child: runs `main(args)`, sends its value as the result and exits 0; on error sends the message (flagging
 * bad input when the error's name is `InputError` or a subclass) and exits 1. Exits as well when the parent goes
 * away (stdin closes), so an orphaned child never keeps computing.
 */
export function runChildMain(main: (args: string[]) => Promise<unknown>): void {
  process.stdin.on('end', () => process.exit(130));
  process.stdin.on('error', () => process.exit(130));
  process.stdin.resume();
  main(process.argv.slice(2)).then(
    (value) => {
      send({ type: 'result', value: value ?? null });
      process.exit(0);
    },
    (err: unknown) => {
      const input = err instanceof Error && isInputErrorName(err);
      send({ type: 'error', message: err instanceof Error ? err.message : String(err), input });
      process.exit(1);
    },
  );
}

function isInputErrorName(err: Error): boolean {
  for (let p: object | null = err; p; p = Object.getPrototypeOf(p)) {
    if ((p as { constructor?: { name?: string } }).constructor?.name === 'InputError') return true;
  }
  return false;
}
