import { InvalidVideoError } from '@streamedit/pipeline';
import type { VideoInfo } from '@streamedit/pipeline/media/video-info';
import type { FarmConfig } from '@streamedit/farm';

/** A video the farm will not take on: over its frame, duration or resolution limits (422, before any job exists). */
export class MediaLimitError extends InvalidVideoError {}

/** Codecs of still images: ffprobe reads a PNG or a JPEG as a one-frame "video", which is nothing to edit. */
const STILL_IMAGE_CODECS = new Set([
  'png',
  'apng',
  'bmp',
  'tiff',
  'webp',
  'jpegls',
  'jpeg2000',
  'pam',
  'ppm',
  'pgm',
  'qoi',
]);

/**
 * Refuses what ffprobe reads as a video but is not one a user means to edit: a still image (PNG, BMP…, or any
 * single-frame file), and a `frames` count beyond the video's frames (said, not silently clamped).
 * @throws MediaLimitError (422) saying what to send instead.
 */
export function checkIsVideo(info: VideoInfo, frames: number | undefined): void {
  if (STILL_IMAGE_CODECS.has(info.codec) || info.frameCount < 2) {
    throw new MediaLimitError(
      `The uploaded video is a still image (${info.codec}, ${info.frameCount} frame): send a video as "video", and an edited frame as "keyframe".`,
    );
  }
  if (frames !== undefined && frames > info.frameCount) {
    throw new MediaLimitError(
      `"frames" is ${frames} but the video has ${info.frameCount} frames: send "frames" ≤ ${info.frameCount}, or leave it out to edit them all.`,
    );
  }
}

/**
 * Checks what ffprobe said about an upload against the farm's limits: the frames to edit (`frames`, the first N of
 * the video, or all) ≤ `FARM_MAX_FRAMES`, their span ≤ `FARM_MAX_DURATION_S`, each side ≤ `FARM_MAX_VIDEO_SIDE`.
 * Work grows with each, so one oversized request cannot tie up the trainers for hours.
 * @throws MediaLimitError naming the limit and what to send instead.
 */
export function checkMediaLimits(info: VideoInfo, frames: number, config: FarmConfig): void {
  const side = Math.max(info.width, info.height);
  if (side > config.maxVideoSide) {
    throw new MediaLimitError(
      `The video is ${info.width}×${info.height}; this farm takes at most ${config.maxVideoSide} pixels per side: scale it down and send it again.`,
    );
  }
  if (frames > config.maxFrames) {
    throw new MediaLimitError(
      `The edit covers ${frames} frames; this farm edits at most ${config.maxFrames} per job: send "frames" ≤ ${config.maxFrames} or a shorter video.`,
    );
  }
  const seconds = info.fpsValue > 0 ? frames / info.fpsValue : info.duration;
  if (seconds > config.maxDurationS) {
    throw new MediaLimitError(
      `The edit spans ${seconds.toFixed(1)} s; this farm edits at most ${config.maxDurationS} s per job: send a shorter video or fewer "frames".`,
    );
  }
}
