/**
 * Real services for the farm tests: redis-server and s3rver, started by the farm library's dev helpers
 * (libs/farm/src/dev/services.ts, shared with `streamedit bench farm`). `stop()` from `after()`.
 */
import { startS3 as startDevS3, type DevRedis, type DevS3 } from '@streamedit/farm';

export { farmEnv, freePort, pingRedis as ping, startRedis } from '@streamedit/farm';

/** A running redis-server owned by the test. */
export type TestRedis = DevRedis;
/** A running s3rver owned by the test; `S3RVER`/`S3RVER` are its fixed credentials. */
export type TestS3 = DevS3;

/** Starts s3rver on 127.0.0.1 (port chosen by the OS) with one empty bucket. */
export function startS3(bucket = 'streamedit-test'): Promise<TestS3> {
  return startDevS3(bucket);
}
