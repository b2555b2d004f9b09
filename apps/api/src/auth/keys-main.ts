import { Command, InvalidArgumentError } from 'commander';
import { Redis } from 'ioredis';
import { InputError, isInputError } from '@streamedit/pipeline';
import {
  API_KEY_ROLES,
  ApiKeyRepository,
  loadFarmConfig,
  redactUrl,
  type ApiKey,
  type ApiKeyRole,
} from '@streamedit/farm';

/**
 * `npm run farm:keys -- create --role admin`: the operators' tool for API keys, run where REDIS_URL (and
 * FARM_AUTH_PEPPER, when set) are those of the API. `create` prints the key ONCE on stdout (only its hash is
 * stored: a lost key cannot be shown again, create another and revoke the old); `list` shows ids, roles and
 * limits, never keys; `revoke <id>` stops a key at once. Exit 2 on bad input.
 */
async function main(argv: string[]): Promise<void> {
  const program = new Command('farm:keys').description('Create, list and revoke API keys of the farm.');
  program.exitOverride();
  program
    .command('create')
    .description('Create a key and print it once.')
    .option('--role <role>', `${API_KEY_ROLES.join(' | ')}`, parseRole, 'user' as ApiKeyRole)
    .option('--name <text>', 'who or what uses it (shown by list)', '')
    .option('--max-jobs <n>', 'unfinished jobs at once (default FARM_MAX_ACTIVE_JOBS)', positiveInt)
    .option('--rate <n>', 'requests per second (default FARM_RATE_LIMIT)', positiveNumber)
    .option('--burst <n>', 'requests at once (default FARM_RATE_BURST)', positiveInt)
    .option('--json', 'print {id, role, key} as JSON')
    .action((o: { role: ApiKeyRole; name: string; maxJobs?: number; rate?: number; burst?: number; json?: boolean }) =>
      withKeys(async (keys) => {
        const { key, record } = await keys.create(o.role, o.name, {
          maxActiveJobs: o.maxJobs,
          ratePerS: o.rate,
          burst: o.burst,
        });
        if (o.json) process.stdout.write(`${JSON.stringify({ id: record.id, role: record.role, key })}\n`);
        else process.stdout.write(`${key}\n`);
        process.stderr.write(`Created ${record.role} key ${record.id}. It is shown only this once: store it now.\n`);
      }),
    );
  program
    .command('list')
    .description('List keys (ids, roles, limits; never the keys).')
    .option('--json', 'as JSON')
    .action((o: { json?: boolean }) =>
      withKeys(async (keys) => {
        const all = await keys.list();
        if (o.json) process.stdout.write(`${JSON.stringify(all, null, 2)}\n`);
        else for (const k of all) process.stdout.write(`${describe(k)}\n`);
      }),
    );
  program
    .command('revoke <id>')
    .description('Revoke a key (it stops working at once).')
    .action((id: string) =>
      withKeys(async (keys) => {
        if (!(await keys.revoke(id))) throw new InputError(`No API key has the id "${id.slice(0, 40)}": see \`list\`.`);
        process.stderr.write(`Revoked key ${id}.\n`);
      }),
    );
  await program.parseAsync(argv, { from: 'user' });
}

/** Runs `fn` with the key repository on the farm's Redis, then disconnects. */
async function withKeys(fn: (keys: ApiKeyRepository) => Promise<void>): Promise<void> {
  const config = loadFarmConfig();
  const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 1, lazyConnect: true });
  try {
    await redis.connect().catch((err: Error) => {
      throw new InputError(`Redis at ${redactUrl(config.redisUrl)} does not answer (${err.message}): check REDIS_URL.`);
    });
    await fn(new ApiKeyRepository(redis, config.authPepper));
  } finally {
    redis.disconnect();
  }
}

function describe(k: ApiKey): string {
  const limits = [
    k.maxActiveJobs !== null && `max-jobs=${k.maxActiveJobs}`,
    k.ratePerS !== null && `rate=${k.ratePerS}/s`,
    k.burst !== null && `burst=${k.burst}`,
  ].filter(Boolean);
  return [k.id, k.role, k.revokedAt ? `revoked ${k.revokedAt}` : 'active', k.createdAt, k.name, ...limits]
    .filter(Boolean)
    .join('\t');
}

function parseRole(value: string): ApiKeyRole {
  if (!(API_KEY_ROLES as readonly string[]).includes(value))
    throw new InvalidArgumentError(`use one of ${API_KEY_ROLES.join(', ')}.`);
  return value as ApiKeyRole;
}

function positiveInt(value: string): number {
  if (!/^\d{1,9}$/.test(value) || Number(value) < 1) throw new InvalidArgumentError('a whole number ≥ 1.');
  return Number(value);
}

function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('a number > 0.');
  return n;
}

main(process.argv.slice(2)).then(
  () => process.exit(process.exitCode ?? 0),
  (err: unknown) => {
    const e = err as { code?: string; exitCode?: number; message?: string };
    if (typeof e.code === 'string' && e.code.startsWith('commander.')) {
      // commander already printed its message (or the help)
      process.exit(e.code === 'commander.helpDisplayed' || e.code === 'commander.version' ? 0 : 2);
    }
    process.stderr.write(`farm:keys: ${e.message ?? String(err)}\n`);
    process.exit(isInputError(err) ? 2 : 1);
  },
);
