import { resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { InputError, type EditSpec } from '@streamedit/pipeline';
import { parseCount } from './options';

/** The edit flags `edit` and `live` share (one set: same names, same parsing, same messages). */
export interface EditFlags {
  keyframe?: string[];
  at?: string[];
  overlay?: string;
  look?: string;
  prompt?: string;
}

const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

/**
 * Adds `--keyframe PNG` (repeatable) `--at N` (repeatable, default 0) `--overlay PNG` `--look NAME` `--prompt TEXT`
 * to `cmd`; `about` prefixes each help line (e.g. `warm-up edit: `). Read them with {@link editSpecFrom}.
 */
export function addEditOptions(cmd: Command, about = ''): Command {
  const options = [
    new Option('--keyframe <png>', `${about}an edited keyframe (repeatable; pair each with --at)`).argParser(collect),
    new Option('--at <index>', `${about}frame index of the keyframe / overlay / look / prompt (default 0)`).argParser(
      collect,
    ),
    new Option('--overlay <png>', `${about}an RGBA overlay painted on the keyframe`),
    new Option('--look <name>', `${about}a built-in look (see \`streamedit looks\`)`),
    new Option('--prompt <text>', `${about}a text edit sent to STREAMEDIT_EDITOR_URL`),
  ];
  for (const option of options) cmd.addOption(option);
  return cmd;
}

/** Turns the flags into one `EditSpec`; exactly one kind of edit must be given. */
export function editSpecFrom(o: EditFlags): EditSpec {
  const kinds = [
    o.keyframe?.length ? 'keyframe' : '',
    o.overlay ? 'overlay' : '',
    o.look ? 'look' : '',
    o.prompt ? 'prompt' : '',
  ].filter(Boolean);
  if (kinds.length !== 1)
    throw new InputError(
      `Give exactly one edit: --keyframe IMG, --overlay IMG, --look NAME or --prompt TEXT (got ${kinds.length ? kinds.join(', ') : 'none'}).`,
    );
  const at = (o.at ?? []).map((v) => parseCount(v, '--at', 0));
  if (o.keyframe?.length) {
    if (at.length > 0 && at.length !== o.keyframe.length)
      throw new InputError('Give one --at per --keyframe (or none: the first keyframe is frame 0).');
    return { kind: 'keyframes', keyframes: o.keyframe.map((path, i) => ({ path: resolve(path), at: at[i] ?? 0 })) };
  }
  if (at.length > 1)
    throw new InputError('--at is given more than once: overlays, looks and prompts edit one keyframe.');
  if (o.overlay) return { kind: 'overlay', path: resolve(o.overlay), at: at[0] };
  if (o.look) return { kind: 'look', name: o.look, at: at[0] };
  return { kind: 'prompt', text: o.prompt!, at: at[0] };
}
