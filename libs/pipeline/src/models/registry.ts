/**
 * The models StreamEdit knows by name: file name, checksum, official download URL, size and licence.
 * A model is only ever used after its bytes match `sha256` (see `ModelStore`), wherever the file came from.
 */
export interface ModelEntry {
  /** Name used in code and on the CLI (`streamedit models`). */
  readonly name: string;
  /** File name looked up in every models directory and in the cache. */
  readonly fileName: string;
  /** Lower-case hex sha256 of the exact bytes; a file with other bytes is refused. */
  readonly sha256: string;
  /** Where the file is downloaded from when it is not found locally. */
  readonly url: string;
  /** Size in bytes (informative; the checksum is what is enforced). */
  readonly bytes: number;
  readonly licence: string;
  /** What the model is and how the pipeline uses it. */
  readonly description: string;
}

const XFEAT_REPO = 'https://raw.githubusercontent.com/Kazuhito00/XFeat-Image-Matching-ONNX-Sample/6eb24aad/onnx_model';

/** Every registered model, keyed by name. The checksums are those of `../shared/models/SHA256SUMS`. */
export const MODEL_REGISTRY: Readonly<Record<string, ModelEntry>> = Object.freeze(
  Object.fromEntries(
    (
      [
        {
          name: 'face_landmarker',
          fileName: 'face_landmarker.task',
          sha256: '64184e229b263107bc2b804c6625db1341ff2bb731874b0bcc2fe6544e0bc9ff',
          url: 'https://storage.googleapis.com/mediapipe-models/face_landmarker/face_landmarker/float16/1/face_landmarker.task',
          bytes: 3758596,
          licence: 'Apache-2.0',
          description:
            'MediaPipe Face Landmarker bundle (face detector + 478-point mesh + 52 blendshapes) for @mediapipe/tasks-vision.',
        },
        {
          name: 'selfie_segmenter_f16',
          fileName: 'selfie_segmenter_f16.tflite',
          sha256: '191ac9529ae506ee0beefa6b2c945a172dab9d07d1e802a290a4e4038226658b',
          url: 'https://storage.googleapis.com/mediapipe-models/image_segmenter/selfie_segmenter/float16/latest/selfie_segmenter.tflite',
          bytes: 249537,
          licence: 'Apache-2.0',
          description:
            'MediaPipe selfie segmenter (TFLite, 256×256 → person confidence mask) for ImageSegmenter in @mediapipe/tasks-vision.',
        },
        {
          name: 'selfie_segmentation',
          fileName: 'selfie_segmentation.onnx',
          sha256: '1511ab5564cb0ae179cba9bcad6ad931003ccc71656f11fd270967023678c6a5',
          url: 'https://raw.githubusercontent.com/locaal-ai/obs-backgroundremoval/b86bf8b5/data/models/selfie_segmentation.onnx',
          bytes: 447596,
          licence: 'Apache-2.0',
          description:
            'MediaPipe selfie segmentation as ONNX: input_1:0 [1,256,256,3] NHWC 0..1 → activation_10 [1,256,256,1] person mask.',
        },
        {
          name: 'xfeat_256x256',
          fileName: 'xfeat_256x256.onnx',
          sha256: '9b4292da0e6bdc8c3e87ae2b528ebad3dfbc9afdef696b95b22b4d21503bb5fe',
          url: `${XFEAT_REPO}/xfeat_256x256.onnx`,
          bytes: 3694534,
          licence: 'Apache-2.0',
          description:
            'XFeat (CVPR 2024) backbone: input [1,3,256,256] RGB 0..1 → 64-d dense descriptors [1,64,32,32].',
        },
        {
          name: 'xfeat_320x224',
          fileName: 'xfeat_320x224.onnx',
          sha256: '4eb3d29927367b64c1d203a42b03c7332e6b1ff3438d140c02e8f537678b481f',
          url: `${XFEAT_REPO}/xfeat_320x224.onnx`,
          bytes: 3740789,
          licence: 'Apache-2.0',
          description:
            'XFeat backbone for landscape frames: input [1,3,224,320] RGB 0..1 → 64-d dense descriptors [1,64,28,40].',
        },
      ] satisfies ModelEntry[]
    ).map((e) => [e.name, Object.freeze(e)]),
  ),
);

/** Names of every registered model, in registry order. */
export function modelNames(): string[] {
  return Object.keys(MODEL_REGISTRY);
}
