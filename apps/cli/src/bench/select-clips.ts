import { readdir } from 'node:fs/promises';
import { InputError } from '@streamedit/pipeline';

/** The .mp4 files of `dir`, sorted by name. */
export async function videoFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((f) => f.endsWith('.mp4')).sort();
}

/**
 * The names a `--clips` list selects, in the order of `names`. A filter that *is* a name (with or without the
 * file's extension) selects that name only; any other filter selects every name containing it. Why: substrings
 * alone cannot pick `km720-s18` without `km720-s18-open`, nor one clip whose name starts another's.
 *
 * @param filters the `--clips` list; empty or absent selects `fallback`
 * @param fallback what no filter selects [every name]
 * @throws InputError when filters were given and none of them selects a name
 */
export function selectClips(
  names: readonly string[],
  filters: readonly string[] | undefined,
  fallback: readonly string[] = names,
): string[] {
  const given = filters?.filter(Boolean) ?? [];
  const wanted = given.length ? given : fallback;
  const stem = (n: string): string => n.replace(/\.[^.]+$/, '');
  const selects = (filter: string, name: string): boolean => {
    const exact = names.some((n) => n === filter || stem(n) === filter);
    return exact ? name === filter || stem(name) === filter : name.includes(filter);
  };
  const selected = names.filter((n) => wanted.some((f) => selects(f, n)));
  if (given.length && !selected.length)
    throw new InputError(`No clip matches --clips ${given.join(',')}; the clips here: ${names.map(stem).join(', ')}.`);
  return selected;
}
