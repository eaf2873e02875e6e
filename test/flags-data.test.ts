import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { FLAGS } from '../src/spec/flags.js';
import { ROOT } from './helpers/cli.js';

// data/mesos-flags.json is a copy of shared/mesos-flags.json (the team's list from the Mesos docs),
// shipped so that meso works outside this workspace. CI has shared/ beside the clone.
const shared = join(ROOT, '..', 'shared', 'mesos-flags.json');

void test(
  'data/mesos-flags.json is the shared flag list, unchanged',
  { skip: !existsSync(shared) && 'no ../shared here' },
  () => {
    assert.equal(readFileSync(join(ROOT, 'data', 'mesos-flags.json'), 'utf8'), readFileSync(shared, 'utf8'));
  },
);

void test('the catalog knows both roles and the flags shared by them', () => {
  assert.ok(FLAGS.master.has('quorum') && !FLAGS.agent.has('quorum'));
  assert.ok(FLAGS.agent.has('containerizers') && !FLAGS.master.has('containerizers'));
  assert.ok(FLAGS.master.has('logging_level') && FLAGS.agent.has('logging_level'));
  assert.equal(FLAGS.agent.get('switch_user')?.boolean, true);
  assert.equal(FLAGS.agent.get('cgroups_enable_cfs')?.boolean, true);
});
