import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { ToolError } from '../errors';
import { frameBytes } from '../media/decode';
import { createFlow } from '../image/warp';
import type { Correspondence, CorrespondenceSource } from '../job/propagate';
import { REPO_ROOT, settings } from '../settings';

/** The DIS flow script of this checkout (needs Debian's python3-opencv). */
export const DIS_FLOW_SCRIPT = resolve(REPO_ROOT, 'scripts/dis-flow.py');

/**
 * OpenCV DIS (preset medium, frame t → frame 0) as a {@link CorrespondenceSource} with reference 0: the script
 * streams one flow per frame, so frames must be asked for in increasing order (as one window's propagation does);
 * σ = 0 (DIS has no uncertainty).
 */
export class DisFlowSource implements CorrespondenceSource {
  private readonly proc: ChildProcessByStdio<null, Readable, Readable>;
  private readonly flows: AsyncGenerator<Uint8Array>;
  private next = 1;
  private stderr = '';

  constructor(
    video: string,
    private readonly size: { readonly width: number; readonly height: number; readonly frames: number },
  ) {
    this.proc = spawn(
      settings().pythonBin,
      [DIS_FLOW_SCRIPT, video, String(size.frames), String(Math.max(size.width, size.height))],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, OMP_NUM_THREADS: '2' } },
    );
    this.proc.stderr.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.flows = frameBytes(this.proc.stdout, 8 * size.width * size.height);
  }

  async between(ref: number, cur: number): Promise<Correspondence> {
    if (ref !== 0 || cur < this.next)
      throw new RangeError(`DIS flows stream frame → 0 in order (asked ${cur} → ${ref})`);
    const { width, height } = this.size;
    let bytes: Uint8Array | undefined;
    while (this.next <= cur) {
      const r = await this.flows.next();
      if (r.done || r.value.length !== 8 * width * height)
        throw new ToolError(`DIS flow script stopped at frame ${this.next}: ${this.stderr.trim().split('\n').pop()}`);
      bytes = r.value;
      this.next++;
    }
    const data = new Float32Array(bytes!.buffer, bytes!.byteOffset, 2 * width * height);
    return {
      flow: createFlow(width, height, new Float32Array(data)),
      sigma: { width, height, data: new Float32Array(width * height) },
    };
  }

  async close(): Promise<void> {
    await this.flows.return(undefined);
    if (this.proc.exitCode === null) this.proc.kill();
  }
}
