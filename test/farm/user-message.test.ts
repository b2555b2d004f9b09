/**
 * A failed job's `error` is written for its user: the stages' messages name server temp paths, endpoints and
 * operator settings (issue 19, finding 4); `failRecord` stores them through `userFacingMessage`. Pure functions.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { userFacingMessage } from '@streamedit/farm';

test('job errors: no server paths, addresses or setting names; storage keys and plain facts stay', () => {
  const cases: Array<[string, string]> = [
    [
      'No face was found in /tmp/streamedit-analyze-x1Yz/input: send a portrait video.',
      'No face was found in the uploaded video: send a portrait video.',
    ],
    [
      '/tmp/streamedit-job-abc/edit/image-0.png is 100×80 but the video frame is 512×512: give an image of that size.',
      'keyframe image 1 is 100×80 but the video frame is 512×512: give an image of that size.',
    ],
    [
      'The image-editing endpoint http://10.0.0.3:8080/edit did not answer (ECONNREFUSED): check STREAMEDIT_EDITOR_URL.',
      "The image-editing endpoint (an address withheld) did not answer (ECONNREFUSED): check a setting of the farm's operators.",
    ],
    ['Cannot read /srv/farm/work/overlay.png', 'Cannot read the overlay image'],
    ['Cannot read /var/lib/x/model.onnx', 'Cannot read "model.onnx"'],
    [
      'The mux stage failed after 2 attempt(s): Artifact jobs/0b6a/windows/1/part.mp4 is corrupt.',
      'The mux stage failed after 2 attempt(s): Artifact jobs/0b6a/windows/1/part.mp4 is corrupt.',
    ],
    [
      'the artifact storage did not answer (connect ECONNREFUSED 127.0.0.1:4569)',
      'the artifact storage did not answer (connect ECONNREFUSED 127.0.0.1:4569)',
    ],
  ];
  for (const [stage, user] of cases) {
    assert.equal(userFacingMessage(stage), user);
    assert.doesNotMatch(userFacingMessage(stage), /(^|\s)\/(tmp|srv|var)\/|https?:|STREAMEDIT_/);
  }
});
