import { InputError } from '@streamedit/pipeline';

/** An upload part is over its size limit (413). */
export class PayloadTooLargeError extends InputError {}

/** The request is not `multipart/form-data` (415). */
export class UnsupportedMediaTypeError extends InputError {}
