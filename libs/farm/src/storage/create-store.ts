import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FarmConfig } from '../config';
import type { ArtifactStore } from './artifact-store';
import { ChecksummedArtifactStore } from './checksums';
import { DownloadCachingStore } from './download-cache';
import { InstrumentedArtifactStore, jsonLinesSink } from './instrumented-store';
import { LocalArtifactStore } from './local-store';
import { S3ArtifactStore } from './s3-store';

/**
 * The artifact store the settings name (`FARM_STORAGE`), every object checked against the sha256 recorded when it
 * was written (`ChecksummedArtifactStore`); creates the bucket first when `S3_CREATE_BUCKET` is set. With
 * `FARM_STORE_TIMINGS` set, every call is also timed into that file (`InstrumentedArtifactStore`).
 */
export async function createArtifactStore(config: FarmConfig): Promise<ArtifactStore> {
  const store = await createCheckedStore(config);
  return config.storeTimings
    ? new InstrumentedArtifactStore(store, jsonLinesSink(config.storeTimings, config.workerId))
    : store;
}

/**
 * A worker's store: `store` behind a local cache of immutable artifacts (`FARM_DOWNLOAD_CACHE_MB`, off at 0), in
 * a folder of its own under the temp dir. The cache sits in front, so only real transfers are timed and checked.
 */
export function withDownloadCache(store: ArtifactStore, config: FarmConfig): ArtifactStore {
  if (config.downloadCacheMb === 0) return store;
  const dir = join(tmpdir(), `streamedit-downloads-${config.workerId}`);
  return new DownloadCachingStore(store, { dir, maxBytes: config.downloadCacheMb * 1024 * 1024 });
}

async function createCheckedStore(config: FarmConfig): Promise<ArtifactStore> {
  if (config.storage === 'local') return new ChecksummedArtifactStore(new LocalArtifactStore(config.localDir));
  const store = new S3ArtifactStore({
    bucket: config.s3Bucket,
    region: config.s3Region,
    endpoint: config.s3Endpoint,
    publicEndpoint: config.s3PublicEndpoint,
    forcePathStyle: config.s3ForcePathStyle,
    credentials:
      config.s3AccessKeyId && config.s3SecretAccessKey
        ? { accessKeyId: config.s3AccessKeyId, secretAccessKey: config.s3SecretAccessKey }
        : undefined,
  });
  if (config.s3CreateBucket) await store.ensureBucket();
  return new ChecksummedArtifactStore(store);
}
