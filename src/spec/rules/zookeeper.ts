import type { Diagnostic, SpecPath } from '../diagnostics.js';
import { ensembleEntries, hostEntries, memberId } from '../../model/hosts.js';
import { err, rawAt, SAFE, warn } from '../rule-helpers.js';
import type { Rule } from '../rule-helpers.js';

// --- ZooKeeper ------------------------------------------------------------------------------------

export const ensemble: Rule = ({ spec, raw }) => {
  const out: Diagnostic[] = [];
  const members = ensembleEntries(spec);
  if (!spec.zookeeper.onMasters) {
    const at: SpecPath =
      spec.zookeeper.dedicated.count === undefined ? ['zookeeper', 'hosts'] : ['zookeeper', 'count'];
    if (members.length === 0)
      out.push(
        err(at, 'the ZooKeeper ensemble has no members', 'list 1, 3 or 5 hosts, or use hosts: masters'),
      );
    else if (members.length % 2 === 0) {
      out.push(
        err(
          at,
          `a ZooKeeper ensemble of ${members.length} tolerates no more failures than one of ${members.length - 1}`,
          `use ${members.length - 1} or ${members.length + 1} members`,
        ),
      );
    }
  }
  const seen = new Map<number, string>();
  const policyWritten = rawAt(raw, ['zookeeper', 'myid']) !== undefined;
  const counted = members.some((m) => m.path[m.path.length - 1] === 'count');
  if (spec.zookeeper.myid === 'last-octet' && counted) {
    out.push(
      err(
        ['zookeeper', 'myid'],
        'myid: last-octet needs listed IPv4 addresses, but the ensemble hosts are given by count',
        'use myid: sequential with count:',
      ),
    );
    return out;
  }
  members.forEach((m, i) => {
    const id = memberId(spec, m.host, i);
    // Point where the id comes from: the host's myid, else the policy if written, else the host.
    const idPath: SpecPath =
      m.host.myid !== undefined ? [...m.path, 'myid'] : policyWritten ? ['zookeeper', 'myid'] : m.path;
    if (id === undefined) {
      out.push(
        err(
          idPath,
          `cannot derive a ZooKeeper id for ${m.host.name}: myid: last-octet needs a known IPv4 address`,
          `give ${m.host.name} a myid:, or use myid: sequential`,
        ),
      );
      return;
    }
    if (!Number.isInteger(id) || id < 1 || id > 255) {
      out.push(
        err(idPath, `ZooKeeper id ${id} of ${m.host.name} is outside 1..255`, 'use an id from 1 to 255'),
      );
      return;
    }
    const other = seen.get(id);
    if (other !== undefined) {
      out.push(
        err(
          idPath,
          `ZooKeeper id ${id} of ${m.host.name} is already used by ${other}`,
          'give every member its own myid',
        ),
      );
    }
    seen.set(id, m.host.name);
  });
  const members_ = new Set(members.map((m) => m.host.name));
  for (const e of hostEntries(spec)) {
    if (e.host.myid !== undefined && !members_.has(e.host.name)) {
      out.push(warn([...e.path, 'myid'], `${e.host.name} is not a ZooKeeper member; its myid is ignored`));
    }
  }
  const { tickTime, syncLimit, initLimit } = spec.zookeeper;
  if (syncLimit > initLimit) {
    out.push(
      warn(
        ['zookeeper', 'syncLimit'],
        `syncLimit ${syncLimit} is above initLimit ${initLimit}`,
        'followers usually get longer to sync at start (initLimit) than later',
      ),
    );
  }
  if (tickTime < 100)
    out.push(
      warn(
        ['zookeeper', 'tickTime'],
        `tickTime ${tickTime} ms is very short`,
        'the ZooKeeper default is 2000',
      ),
    );
  for (const [key, value] of Object.entries(spec.zookeeper.settings)) {
    if (!SAFE.zkSetting.test(key))
      out.push(
        err(
          ['zookeeper', 'settings', key],
          `unsafe zoo.cfg key '${key}'`,
          'use letters, digits, _ and .',
          true,
        ),
      );
    if (!SAFE.oneLine.test(String(value)))
      out.push(err(['zookeeper', 'settings', key], 'zoo.cfg values must be on one line'));
    if (
      ['dataDir', 'clientPort', 'tickTime', 'initLimit', 'syncLimit'].includes(key) ||
      key.startsWith('server.')
    ) {
      out.push(
        err(
          ['zookeeper', 'settings', key],
          `'${key}' is set by meso`,
          `use zookeeper.${key.startsWith('server.') ? 'hosts' : key}`,
          true,
        ),
      );
    }
  }
  return out;
};
