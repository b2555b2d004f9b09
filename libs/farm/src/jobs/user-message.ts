/**
 * A job's error as its user may read it: the stages' messages are written for someone at the server (the CLI shares
 * them), so they name temp paths ("No face was found in /tmp/streamedit-analyze-…/input"), endpoints and operator
 * settings (`STREAMEDIT_EDITOR_URL`). Here paths become what the user knows them as (the uploaded video, a keyframe
 * image, or the file's name), URLs and setting names are withheld. The full message stays in the worker's log.
 */
export function userFacingMessage(message: string): string {
  return (
    message
      .replace(/\b[a-z][a-z0-9+.-]*:\/\/[^\s'"`)]+/gi, '(an address withheld)')
      // An absolute path (a slash not inside a word: storage keys like jobs/{id}/output are the user's business).
      .replace(/(?<![\w.~-])(?:\/[^\s/'"`,;:()]+){2,}\/?/g, (path) => describePath(path))
      .replace(/\b(?:STREAMEDIT|FARM|S3|REDIS|AWS)_[A-Z0-9_]+\b/g, "a setting of the farm's operators")
  );
}

/** What a server path is to the user: the upload, an edit image, or else just the file's name. */
function describePath(path: string): string {
  const name = path.replace(/\/$/, '').split('/').pop() ?? '';
  if (name === 'input' || name === 'video') return 'the uploaded video';
  const keyframe = /^(?:keyframe|image)-(\d+)(?:\.png)?$/.exec(name);
  if (keyframe) return `keyframe image ${Number(keyframe[1]) + 1}`;
  if (/^overlay(?:\.png)?$/.test(name)) return 'the overlay image';
  return `"${name}"`;
}
