import type { EditImageOptions, EditSpec } from '@streamedit/pipeline';
import type { JobEdit } from './job-record';

/** The user's keyframe indices of an edit: each one forces an ARR reference. */
export function editKeyframes(edit: JobEdit): number[] {
  return edit.kind === 'keyframes' ? edit.keyframes.map((k) => k.at) : [edit.at ?? 0];
}

/**
 * The pipeline's `EditSpec` of a job's edit, with `pathOf(key)` for each stored image. Default `pathOf`: the store
 * key itself (enough to validate the edit's shape or describe it, before any image is downloaded).
 */
export function toEditSpec(edit: JobEdit, pathOf: (key: string) => string = (key) => key): EditSpec {
  switch (edit.kind) {
    case 'keyframes':
      return { kind: 'keyframes', keyframes: edit.keyframes.map((k) => ({ at: k.at, path: pathOf(k.key) })) };
    case 'overlay':
      return { kind: 'overlay', path: pathOf(edit.key), at: edit.at };
    case 'look':
      return { kind: 'look', name: edit.name, at: edit.at };
    case 'prompt':
      return { kind: 'prompt', text: edit.text, at: edit.at };
  }
}

/**
 * The options of the pipeline's size rule for a job's edit images (`editImageFit`, `resolveEdit`): the API's upload
 * check and the analyze stage read them here, so both apply the same rule.
 */
export function editImageOptions(edit: JobEdit): EditImageOptions {
  return { upscaleKeyframe: edit.kind !== 'look' && edit.upscaleKeyframe === true };
}
