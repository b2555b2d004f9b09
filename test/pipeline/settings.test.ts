import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InputError, loadSettings } from '@streamedit/pipeline';

test('settings: defaults are valid and documented variables override them', () => {
  const s = loadSettings({ STREAMEDIT_MAX_SIDE: '256', STREAMEDIT_MODELS_DIR: '/a:/b' });
  assert.equal(s.maxSide, 256);
  assert.deepEqual(s.modelsDirs, ['/a', '/b']);
  assert.equal(loadSettings({}).pythonBin, '/usr/bin/python3');
});

test('settings: an invalid value names the variable to fix', () => {
  assert.throws(() => loadSettings({ STREAMEDIT_MAX_SIDE: 'big' }), (e: unknown) => e instanceof InputError && /STREAMEDIT_MAX_SIDE/.test(e.message));
});
