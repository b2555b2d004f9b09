/**
 * Independent tools for tests: the real ffmpeg / ffprobe / Debian python3 run directly (not through the library
 * under test), and a look at this process's children (to prove that no ffmpeg was left running).
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';

const exec = promisify(execFile);

/** Runs a tool and returns its stdout; rejects (with stderr in the message) on a non-zero exit. */
export async function tool(cmd: string, args: readonly string[], input?: string): Promise<string> {
  if (input === undefined) return (await exec(cmd, [...args], { maxBuffer: 256 << 20 })).stdout;
  return new Promise((done, fail) => {
    const child = execFile(cmd, [...args], { maxBuffer: 256 << 20 }, (err, stdout, stderr) =>
      err ? fail(new Error(`${cmd} failed: ${stderr}`)) : done(stdout),
    );
    child.stdin!.end(input);
  });
}

export const ffmpegTool = (args: readonly string[]): Promise<string> =>
  tool('ffmpeg', ['-hide_banner', '-v', 'error', '-y', ...args]);
/** Debian's python3 (the one that sees cv2 and numpy), running `code` from stdin. */
export const python = (code: string, args: readonly string[] = []): Promise<string> =>
  tool('/usr/bin/python3', ['-', ...args], code);

/** ffprobe's own JSON for a file: streams (with counted packets) and format. */
export async function ffprobeJson(
  path: string,
): Promise<{ streams: Array<Record<string, string | number>>; format: Record<string, string> }> {
  return JSON.parse(
    await tool('ffprobe', ['-v', 'error', '-count_packets', '-show_streams', '-show_format', '-of', 'json', path]),
  );
}

/** Command names of the live child processes of `pid` (from /proc), e.g. to find a leftover ffmpeg. */
export function childCommands(pid = process.pid): string[] {
  const out: string[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // pid (comm) state ppid …: comm may contain spaces, so split after the last ')'.
      const close = stat.lastIndexOf(')');
      const [state, ppid] = stat.slice(close + 2).split(' ');
      if (Number(ppid) === pid)
        out.push(`${stat.slice(stat.indexOf('(') + 1, close)}${state === 'Z' ? ' <zombie>' : ''}`);
    } catch {
      // the process ended while we looked
    }
  }
  return out;
}
