import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchmarkClip, type BenchmarkClipOptions } from '@streamedit/pipeline';
import { runChildMain, sendProgress } from '../process/child-protocol';

/** The child process of a benchmark clip job: `benchmarkClip` on a local video, in its own temp work dir. */
runChildMain(async ([video, json]) => {
  const options = JSON.parse(json!) as BenchmarkClipOptions;
  const workDir = await mkdtemp(join(tmpdir(), 'streamedit-benchmark-'));
  try {
    return await benchmarkClip(video!, { ...options, workDir }, sendProgress);
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
});
