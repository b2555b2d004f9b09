import { InputError } from '@streamedit/pipeline';

/** An upload part is over its size limit (413). */
export class PayloadTooLargeError extends InputError {}

/** The request is not `multipart/form-data` (415). */
export class UnsupportedMediaTypeError extends InputError {}

/** The upload is well-formed but cannot be edited (a still image as the video, a keyframe of the wrong size…): 422. */
export class UnprocessableUploadError extends InputError {}
