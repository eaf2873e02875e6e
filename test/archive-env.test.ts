import assert from 'node:assert/strict';
import { test } from 'node:test';
import { executorEnvironment } from '../src/render/render.js';

void test("archive agents: executors get the prefix's lib on LD_LIBRARY_PATH, merged into the spec's own", () => {
  assert.equal(executorEnvironment('/opt/mesos', undefined), '{"LD_LIBRARY_PATH":"/opt/mesos/lib"}');
  assert.equal(
    executorEnvironment('/srv/m', '{"PATH":"/usr/bin:/bin","LD_LIBRARY_PATH":"/usr/local/lib"}'),
    '{"PATH":"/usr/bin:/bin","LD_LIBRARY_PATH":"/usr/local/lib:/srv/m/lib"}',
  );
  assert.equal(
    executorEnvironment('/opt/mesos', '{"LD_LIBRARY_PATH":"/opt/mesos/lib"}'),
    '{"LD_LIBRARY_PATH":"/opt/mesos/lib"}',
    'not added twice',
  );
  // A value meso cannot merge (a file:// reference, not an object) stays the operator's.
  assert.equal(executorEnvironment('/opt/mesos', 'file:///etc/mesos/env.json'), undefined);
  assert.equal(executorEnvironment('/opt/mesos', '["x"]'), undefined);
  assert.equal(executorEnvironment('/opt/mesos', true), undefined);
});
