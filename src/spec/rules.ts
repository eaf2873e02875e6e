import type { Diagnostic, SpecPath } from './diagnostics.js';
import { FLAGS, RESERVED_FLAGS } from './flags.js';
import type { FlagRole } from './flags.js';
import type { Flags, Spec } from './types.js';
import { ensembleEntries, hostEntries, memberId } from '../model/hosts.js';
import { didYouMean } from '../util/suggest.js';

/**
 * Semantic rules: each looks at one concern and reports every problem it finds, so a user sees all
 * of them at once. `raw` is the document as written (to tell "unset" from "set to the default").
 */
export interface RuleContext {
  spec: Spec;
  raw: Record<string, unknown>;
}
export type Rule = (ctx: RuleContext) => Diagnostic[];

const err = (path: SpecPath, message: string, fix?: string, atKey = false): Diagnostic => ({
  severity: 'error',
  path,
  message,
  ...(fix === undefined ? {} : { fix }),
  ...(atKey ? { atKey } : {}),
});
const warn = (path: SpecPath, message: string, fix?: string): Diagnostic => ({
  severity: 'warning',
  path,
  message,
  ...(fix === undefined ? {} : { fix }),
});

export const SAFE = {
  hostName: /^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/,
  address: /^[A-Za-z0-9]([A-Za-z0-9.:-]*[A-Za-z0-9])?$/,
  group: /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/,
  flagName: /^[a-z][a-z0-9_]*$/,
  attributeName: /^[A-Za-z0-9_.-]+$/,
  resourceName: /^[A-Za-z0-9_.-]+(\([A-Za-z0-9_.*/-]+\))?$/,
  principal: /^[A-Za-z0-9_.@-]+$/,
  absPath: /^\/[A-Za-z0-9._/@+-]*$/,
  zkSetting: /^[A-Za-z0-9_.]+$/,
  image: /^[A-Za-z0-9][A-Za-z0-9._/:@-]*$/,
  secretRef: /^(env:[A-Za-z_][A-Za-z0-9_]*|file:[^\s]+)$/,
  /** Debian policy's package name (also in the schema, for local.packages). */
  debianPackage: /^[a-z0-9][a-z0-9+.-]+$/,
  /** A one-line value that goes into a file or an environment variable as it is. */
  oneLine: /^[^\n\r\0]*$/,
} as const;

function isIpv4Cidr(c: string): boolean {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(c);
  return m !== null && m.slice(1, 5).every((o) => Number(o) <= 255) && Number(m[5]) <= 32;
}

function rawAt(raw: unknown, path: SpecPath): unknown {
  let node: unknown = raw;
  for (const p of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string | number, unknown>)[p];
  }
  return node;
}

// --- masters and quorum ---------------------------------------------------------------------------

const masterCount: Rule = ({ spec }) => {
  const n = spec.masters.hosts.length;
  const at: SpecPath = spec.masters.count === undefined ? ['masters', 'hosts'] : ['masters', 'count'];
  if (n === 0)
    return [err(at, 'a cluster needs at least one master', 'list 1 master for development, 3 or 5 for HA')];
  const out: Diagnostic[] = [];
  if (n % 2 === 0 && !spec.masters.allowEvenCount) {
    const tolerated = Math.floor((n - 1) / 2);
    out.push(
      err(
        at,
        n === 2
          ? '2 masters cannot keep a quorum through one failure'
          : `${n} masters tolerate ${tolerated} failure${tolerated === 1 ? '' : 's'}, no more than ${n - 1} would`,
        n === 2
          ? 'use 3 or 5 (1 for development), or set masters.allowEvenCount: true'
          : `use ${[n - 1, n + 1].filter((c) => c <= 7).join(' or ')}, or set masters.allowEvenCount: true`,
      ),
    );
  }
  if (n > 7) out.push(warn(at, `${n} masters slow every write to the replicated log`, 'use 3, 5 or 7'));
  return out;
};

const quorum: Rule = ({ spec }) => {
  const n = spec.masters.hosts.length;
  const q = spec.masters.quorum;
  if (q === 'auto' || n === 0) return [];
  const auto = Math.floor(n / 2) + 1;
  if (q > n)
    return [err(['masters', 'quorum'], `quorum ${q} is more than the ${n} masters`, `use auto (${auto})`)];
  if (q <= n / 2) {
    return [
      err(
        ['masters', 'quorum'],
        `quorum ${q} is not a majority of ${n} masters: two halves could each elect a leader`,
        `use auto (${auto}) or a value from ${auto} to ${n}`,
      ),
    ];
  }
  return [];
};

// --- ZooKeeper ------------------------------------------------------------------------------------

const ensemble: Rule = ({ spec, raw }) => {
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

// --- hosts ----------------------------------------------------------------------------------------

const hostLists: Rule = ({ spec, raw }) => {
  const out: Diagnostic[] = [];
  const lists: SpecPath[] = [
    ['masters'],
    ['zookeeper'],
    ...spec.agents.map((_, i) => ['agents', i] as SpecPath),
  ];
  for (const p of lists) {
    const node = rawAt(raw, p);
    if (node === null || typeof node !== 'object') continue;
    const hasHosts = Array.isArray((node as Record<string, unknown>)['hosts']);
    const hasCount = (node as Record<string, unknown>)['count'] !== undefined;
    if (hasHosts && hasCount)
      out.push(err([...p, 'count'], 'give either hosts or count, not both', undefined, true));
    if (hasCount && spec.provider === 'static') {
      out.push(
        err(
          [...p, 'count'],
          'count needs a provider that creates machines',
          'list hosts with their addresses, or use provider: local or aws',
          true,
        ),
      );
    }
    if (p[0] === 'agents' && !hasHosts && !hasCount)
      out.push(err(p, 'this agent group lists no hosts', 'add hosts: or count:'));
    const hosts = (node as Record<string, unknown>)['hosts'];
    if (p[0] === 'agents' && Array.isArray(hosts) && hosts.length === 0)
      out.push(warn([...p, 'hosts'], 'this agent group has no hosts yet'));
  }
  return out;
};

const hostIdentity: Rule = ({ spec }) => {
  const out: Diagnostic[] = [];
  const byName = new Map<
    string,
    { address: string | undefined; privateAddress: string | undefined; where: SpecPath }
  >();
  const byAddress = new Map<string, string>();
  const inList = new Map<string, Set<string>>();
  for (const e of hostEntries(spec)) {
    const { name, address, privateAddress } = e.host;
    const listKey = e.role === 'agent' ? `agents.${e.group?.group ?? ''}` : `${e.role}s`;
    if (!SAFE.hostName.test(name)) {
      out.push(
        err(
          [...e.path, 'name'],
          `host name '${name}' has unsafe characters`,
          "use letters, digits, '-' and '.'",
        ),
      );
      continue;
    }
    for (const [field, value] of [
      ['address', address],
      ['privateAddress', privateAddress === address ? undefined : privateAddress],
    ] as const) {
      if (value !== undefined && !SAFE.address.test(value)) {
        out.push(err([...e.path, field], `${field} '${value}' is not an IP address or DNS name`));
      }
    }
    const names = inList.get(listKey) ?? new Set<string>();
    if (names.has(name))
      out.push(
        err([...e.path, 'name'], `host ${name} is listed twice in ${listKey}`, 'host names must be unique'),
      );
    names.add(name);
    inList.set(listKey, names);
    const prior = byName.get(name);
    if (prior === undefined) {
      byName.set(name, { address, privateAddress, where: e.path });
      for (const a of new Set([address, privateAddress])) {
        if (a === undefined) continue;
        const owner = byAddress.get(a);
        if (owner !== undefined && owner !== name) {
          out.push(
            err(
              [...e.path, a === address ? 'address' : 'privateAddress'],
              `address ${a} is already used by host ${owner}`,
              'every host needs its own address',
            ),
          );
        } else byAddress.set(a, name);
      }
    } else if (prior.address !== address) {
      out.push(
        err(
          [...e.path, 'address'],
          `host ${name} is declared again with another address (${address ?? 'none'} vs ${prior.address ?? 'none'})`,
          'a host in two roles must have the same address in both',
        ),
      );
    } else if (prior.privateAddress !== privateAddress) {
      out.push(
        err(
          [...e.path, 'privateAddress'],
          `host ${name} is declared again with another privateAddress (${privateAddress ?? 'none'} vs ${prior.privateAddress ?? 'none'})`,
          'a host in two roles must have the same privateAddress in both',
        ),
      );
    }
  }
  return out;
};

// --- agents ---------------------------------------------------------------------------------------

const agentGroups: Rule = ({ spec }) => {
  const out: Diagnostic[] = [];
  const seen = new Set<string>();
  if (spec.agents.length === 0)
    out.push(warn(['agents'], 'no agents: the cluster can run no tasks', 'add an agent group'));
  spec.agents.forEach((g, i) => {
    const at: SpecPath = ['agents', i];
    if (!SAFE.group.test(g.group))
      out.push(
        err(
          [...at, 'group'],
          `group name '${g.group}' has unsafe characters`,
          "use letters, digits, '-' and '_'",
        ),
      );
    if (seen.has(g.group))
      out.push(
        err([...at, 'group'], `agent group '${g.group}' is declared twice`, 'give every group its own name'),
      );
    seen.add(g.group);
    for (const [name, value] of Object.entries(g.attributes)) {
      if (!SAFE.attributeName.test(name))
        out.push(
          err(
            [...at, 'attributes', name],
            `attribute name '${name}' has unsafe characters`,
            "use letters, digits, '_', '-' and '.'",
            true,
          ),
        );
      if (/[;:\n\r\0]/.test(value))
        out.push(
          err(
            [...at, 'attributes', name],
            `attribute value '${value}' contains ';', ':' or a line break`,
            'Mesos separates attributes with ; and :',
          ),
        );
    }
    for (const [name, value] of g.resources) {
      if (!SAFE.resourceName.test(name)) {
        out.push(
          err(
            [...at, 'resources'],
            `resource name '${name}' is not valid`,
            'use name or name(role), e.g. cpus or ports(*)',
          ),
        );
      }
      if (value === '' || /[;\n\r\0]/.test(value))
        out.push(
          err(
            [...at, 'resources'],
            `resource '${name}' needs a value without ';' or line breaks`,
            'e.g. cpus:4 or ports(*):[31000-32000]',
          ),
        );
    }
    const seenRes = new Set<string>();
    for (const [name] of g.resources) {
      if (seenRes.has(name)) out.push(err([...at, 'resources'], `resource '${name}' is given twice`));
      seenRes.add(name);
    }
    if (new Set(g.containerizers).size !== g.containerizers.length)
      out.push(err([...at, 'containerizers'], 'a containerizer is listed twice'));
    for (const [j, iso] of g.isolation.entries()) {
      if (!/^[a-z0-9_]+(\/[a-z0-9_]+)?$/.test(iso))
        out.push(
          err(
            [...at, 'isolation', j],
            `isolator '${iso}' is not valid`,
            'e.g. cgroups/cpu, filesystem/linux, docker/runtime',
          ),
        );
    }
  });
  return out;
};

// --- flags ----------------------------------------------------------------------------------------

function checkFlags(flags: Flags, role: FlagRole, at: SpecPath): Diagnostic[] {
  const out: Diagnostic[] = [];
  const catalog = FLAGS[role];
  for (const [name, value] of Object.entries(flags)) {
    const path = [...at, name];
    const reserved = RESERVED_FLAGS[role][name];
    if (reserved !== undefined) {
      out.push(err(path, `flag '${name}' is managed by meso`, reserved, true));
      continue;
    }
    const info = catalog.get(name);
    if (info === undefined) {
      const other: FlagRole = role === 'master' ? 'agent' : 'master';
      const hint = didYouMean(name, catalog.keys());
      const elsewhere = FLAGS[other].has(name)
        ? `'${name}' is a mesos-${other === 'master' ? 'master' : 'agent'} flag`
        : undefined;
      out.push(
        err(
          path,
          `unknown mesos-${role} flag '${name}'`,
          hint ?? elsewhere ?? 'see mesos-' + role + ' --help',
          true,
        ),
      );
      continue;
    }
    if (info.boolean && typeof value !== 'boolean') {
      out.push(
        err(
          path,
          `flag '${name}' is a boolean, got ${JSON.stringify(value)}`,
          `write ${name}: true or ${name}: false`,
        ),
      );
    } else if (!info.boolean && typeof value === 'boolean') {
      out.push(
        err(
          path,
          `flag '${name}' takes a value, not ${String(value)}`,
          info.default === null ? 'give it a value' : `its default is ${info.default}`,
        ),
      );
    } else if (typeof value === 'string' && !SAFE.oneLine.test(value)) {
      out.push(err(path, `flag '${name}' must be on one line`));
    } else if (typeof value === 'string' && value === '') {
      out.push(err(path, `flag '${name}' is empty`, 'remove it to use the Mesos default'));
    }
    if (name === 'work_dir' || name === 'log_dir') {
      if (typeof value === 'string' && !SAFE.absPath.test(value))
        out.push(err(path, `${name} '${value}' must be an absolute path of safe characters`));
    }
  }
  return out;
}

const flags: Rule = ({ spec }) => [
  ...checkFlags(spec.masters.flags, 'master', ['masters', 'flags']),
  ...spec.agents.flatMap((g, i) => checkFlags(g.flags, 'agent', ['agents', i, 'flags'])),
  ...Object.entries(spec.marathon.flags).flatMap(([name, value]) => {
    const path: SpecPath = ['marathon', 'flags', name];
    if (!SAFE.flagName.test(name))
      return [
        err(
          path,
          `Marathon flag name '${name}' has unsafe characters`,
          'use lower-case letters, digits and _',
          true,
        ),
      ];
    if (['master', 'zk', 'hostname'].includes(name))
      return [
        err(path, `Marathon flag '${name}' is managed by meso`, 'meso derives it from the cluster', true),
      ];
    if (/secret|password/.test(name) && !name.endsWith('_file')) {
      return [
        err(
          path,
          `Marathon flag '${name}' would put a secret on the command line`,
          'use security.authentication.marathon',
          true,
        ),
      ];
    }
    return typeof value === 'string' && !SAFE.oneLine.test(value)
      ? [err(path, `flag '${name}' must be on one line`)]
      : [];
  }),
];

// --- ports ----------------------------------------------------------------------------------------

const ports: Rule = ({ spec, raw }) => {
  const out: Diagnostic[] = [];
  const zk = spec.zookeeper;
  const zkPorts: [string, number][] = [
    ['clientPort', zk.clientPort],
    ['peerPort', zk.peerPort],
    ['electionPort', zk.electionPort],
  ];
  const masterPort = Number(spec.masters.flags['port'] ?? 5050);
  const marathonPorts: [string, number][] = spec.marathon.enabled
    ? [
        ['http_port', Number(spec.marathon.flags['http_port'] ?? 8080)],
        ['https_port', Number(spec.marathon.flags['https_port'] ?? 8443)],
      ]
    : [];
  const ensemble = new Set(ensembleEntries(spec).map((e) => e.host.name));
  const masters = new Set(spec.masters.hosts.map((h) => h.name));
  // Per host: port -> what uses it; the first user wins, later ones are reported where they are set.
  const used = new Map<string, Map<number, { what: string; path: SpecPath }>>();
  const reported = new Set<string>();
  const claim = (host: string, port: number, what: string, path: SpecPath): void => {
    const ports = used.get(host) ?? new Map<number, { what: string; path: SpecPath }>();
    used.set(host, ports);
    const owner = ports.get(port);
    if (owner === undefined || owner.what === what) {
      ports.set(port, { what, path });
      return;
    }
    // Report where the user wrote a port: a clash with a default is the written value's fault.
    const written = rawAt(raw, path) !== undefined || rawAt(raw, owner.path) === undefined;
    const [at, other] = written ? [path, owner.what] : [owner.path, `${what} (default)`];
    const key = `${at.join('.')}|${port}`;
    if (reported.has(key)) return;
    reported.add(key);
    out.push(
      err(at, `port ${port} on ${host} is already used by ${other}`, 'give each service its own port'),
    );
  };
  for (const name of ensemble)
    for (const [k, p] of zkPorts) claim(name, p, `ZooKeeper ${k}`, ['zookeeper', k]);
  for (const name of masters) {
    claim(name, masterPort, 'mesos-master', ['masters', 'flags', 'port']);
    if (spec.marathon.enabled)
      for (const [k, p] of marathonPorts) claim(name, p, `Marathon ${k}`, ['marathon', 'flags', k]);
  }
  spec.agents.forEach((g, i) => {
    const port = Number(g.flags['port'] ?? 5051);
    for (const h of g.hosts) claim(h.name, port, 'mesos-agent', ['agents', i, 'flags', 'port']);
  });
  return out;
};

// --- security -------------------------------------------------------------------------------------

const secrets: Rule = ({ spec }) => {
  const out: Diagnostic[] = [];
  const auth = spec.security;
  const check = (secret: string, principal: string, path: SpecPath): void => {
    if (!SAFE.principal.test(principal))
      out.push(
        err(
          [...path, 'principal'],
          `principal '${principal}' has unsafe characters`,
          "use letters, digits, '_', '.', '@' and '-'",
        ),
      );
    if (!SAFE.secretRef.test(secret)) {
      out.push(
        err(
          [...path, 'secret'],
          'secrets must be given by reference, never inline',
          'write env:NAME (an environment variable) or file:PATH (a file on this machine)',
        ),
      );
    }
  };
  const base: SpecPath = ['security', 'authentication'];
  auth.credentials.forEach((c, i) => check(c.secret, c.principal, [...base, 'credentials', i]));
  if (auth.agentCredential !== undefined)
    check(auth.agentCredential.secret, auth.agentCredential.principal, [...base, 'agent']);
  if (auth.marathonCredential !== undefined)
    check(auth.marathonCredential.secret, auth.marathonCredential.principal, [...base, 'marathon']);
  if ((auth.authenticateFrameworks || auth.authenticateAgents) && auth.credentials.length === 0) {
    out.push(
      err(
        base,
        'authentication is on but no credentials are listed',
        'add credentials: with a principal and a secret reference',
      ),
    );
  }
  if (auth.authenticateAgents && auth.agentCredential === undefined) {
    out.push(
      err(
        [...base, 'agents'],
        'agents must authenticate but no agent credential is given',
        'add security.authentication.agent',
      ),
    );
  }
  const principals = new Set(auth.credentials.map((c) => c.principal));
  for (const [key, c] of [
    ['agent', auth.agentCredential],
    ['marathon', auth.marathonCredential],
  ] as const) {
    if (c !== undefined && auth.credentials.length > 0 && !principals.has(c.principal)) {
      out.push(
        warn(
          [...base, key],
          `principal '${c.principal}' is not among the credentials the masters accept`,
          'add it to security.authentication.credentials',
        ),
      );
    }
  }
  if (auth.marathonCredential !== undefined && !spec.marathon.enabled) {
    out.push(warn([...base, 'marathon'], 'a Marathon credential is given but Marathon is not enabled'));
  }
  if (auth.ssl !== undefined) {
    for (const k of ['certFile', 'keyFile', 'caFile'] as const) {
      const v = auth.ssl[k];
      if (v !== undefined && !SAFE.absPath.test(v))
        out.push(err(['security', 'ssl', k], `'${v}' must be an absolute path of safe characters`));
    }
  }
  return out;
};

// --- names, paths and other one-line values -------------------------------------------------------

const values: Rule = ({ spec }) => {
  const out: Diagnostic[] = [];
  if (!SAFE.absPath.test(spec.zookeeper.dataDir) || spec.zookeeper.dataDir.split('/').includes('..')) {
    out.push(
      err(
        ['zookeeper', 'dataDir'],
        `dataDir '${spec.zookeeper.dataDir}' must be an absolute path of safe characters`,
      ),
    );
  }
  if (!/^[A-Za-z0-9 _.-]+$/.test(spec.masters.cluster)) {
    out.push(
      err(
        ['masters', 'cluster'],
        `cluster name '${spec.masters.cluster}' has unsafe characters`,
        "use letters, digits, spaces, '_', '.' and '-'",
      ),
    );
  }
  if (!SAFE.oneLine.test(spec.marathon.javaOpts))
    out.push(err(['marathon', 'javaOpts'], 'javaOpts must be on one line'));
  // Image references and the archive prefix end up in systemd unit lines, where % and $ expand.
  for (const [key, image] of Object.entries(spec.install.images)) {
    if (!SAFE.image.test(image)) {
      out.push(
        err(
          ['install', 'images', key],
          `image reference '${image}' has unsafe characters`,
          'use name[:tag][@digest] of letters, digits and . _ / : @ -',
        ),
      );
    }
  }
  const prefix = spec.install.options['prefix'];
  if (typeof prefix === 'string' && !SAFE.absPath.test(prefix)) {
    out.push(err(['install', 'prefix'], `prefix '${prefix}' must be an absolute path of safe characters`));
  }
  if (!/^[a-z_][a-z0-9_-]*$/.test(spec.ssh.user))
    out.push(err(['ssh', 'user'], `SSH user '${spec.ssh.user}' is not a valid user name`));
  return out;
};

// --- provider-specific ----------------------------------------------------------------------------

const provider: Rule = ({ spec, raw }) => {
  const out: Diagnostic[] = [];
  if (spec.provider === 'static') {
    for (const e of hostEntries(spec)) {
      // Hosts from `count:` are already reported by hostLists.
      if (e.host.address === undefined && e.path[e.path.length - 1] !== 'count')
        out.push(
          err(
            e.path,
            `host ${e.host.name} has no address`,
            'static hosts need address: (the address meso connects to)',
          ),
        );
    }
    if (raw['aws'] !== undefined) out.push(warn(['aws'], 'aws: is ignored with provider: static'));
  }
  if (spec.provider === 'local') {
    for (const e of hostEntries(spec)) {
      if (e.host.address !== undefined)
        out.push(
          err([...e.path, 'address'], 'local hosts get their addresses from local.subnet', 'remove address:'),
        );
    }
    const m = /^198\.(18|19)\.(\d{1,3})\.0\/24$/.exec(spec.local.subnet);
    if (m === null || Number(m[2]) > 255)
      out.push(
        err(
          ['local', 'subnet'],
          `subnet '${spec.local.subnet}' is not a /24 inside 198.18.0.0/15`,
          'use e.g. 198.18.7.0/24 (the range reserved for test networks)',
        ),
      );
    if (raw['aws'] !== undefined) out.push(warn(['aws'], 'aws: is ignored with provider: local'));
    // Local hosts are Debian (dpkg names are lower case); archive and none packages go into the image.
    const ins = spec.install;
    const given = ins.options['packages'];
    if (ins.method === 'archive' || ins.method === 'none') {
      ins.packages.forEach((p, i) => {
        // A name that is no package name at all is reported by the install rules.
        if (!PACKAGE_NAME.test(p.name) || SAFE.debianPackage.test(p.name)) return;
        const key = Array.isArray(given) ? i : (Object.keys(given ?? {})[i] ?? i);
        out.push(
          err(
            ['install', 'packages', key],
            `'${p.name}' is not a Debian package name (local hosts are Debian)`,
            "use the Debian name: lower-case letters, digits, '+', '-' and '.'",
          ),
        );
      });
    }
  } else if (rawAt(raw, ['local', 'packages']) !== undefined) {
    out.push(
      err(
        ['local', 'packages'],
        `local.packages is for provider local: provider ${spec.provider} hosts are not built from meso's image`,
        'remove local.packages; install.packages installs packages on the hosts',
      ),
    );
  }
  if (spec.provider === 'aws') {
    const aws = spec.aws;
    const need = (key: string, fix: string): void => {
      if (aws[key] === undefined)
        out.push(err(raw['aws'] === undefined ? [] : ['aws'], `provider aws needs aws.${key}`, fix));
    };
    need('region', 'add aws.region, e.g. us-east-1');
    need('keyName', 'add aws.keyName, the EC2 key pair for SSH');
    need('ami', 'add aws.ami (an image id, or one per role)');
    need('instanceTypes', 'add aws.instanceTypes, e.g. { masters: m5.large, agents: m5.xlarge }');
    need('subnets', 'add aws.subnets with subnet ids per role');
    const subnets = (aws['subnets'] ?? {}) as Record<string, unknown>;
    if (aws['subnets'] !== undefined) {
      if (subnets['masters'] === undefined)
        out.push(err(['aws', 'subnets'], 'no subnets for the masters', 'add aws.subnets.masters'));
      if (spec.agents.some((g) => !g.public) && subnets['agents'] === undefined)
        out.push(err(['aws', 'subnets'], 'no subnets for private agents', 'add aws.subnets.agents'));
      if (spec.agents.some((g) => g.public) && subnets['publicAgents'] === undefined)
        out.push(
          err(
            ['aws', 'subnets'],
            'no subnets for public agents',
            'add aws.subnets.publicAgents (public subnets)',
          ),
        );
    }
    const types = (aws['instanceTypes'] ?? {}) as Record<string, unknown>;
    if (aws['instanceTypes'] !== undefined && types['default'] === undefined) {
      const roles = [
        'masters',
        ...spec.agents.map((g) => g.group),
        ...(spec.zookeeper.onMasters ? [] : ['zookeeper']),
      ];
      for (const r of roles) {
        if (
          types[r] === undefined &&
          !(r !== 'masters' && r !== 'zookeeper' && types['agents'] !== undefined)
        ) {
          out.push(
            err(
              ['aws', 'instanceTypes'],
              `no instance type for ${r}`,
              r === 'masters' || r === 'zookeeper'
                ? `add aws.instanceTypes.${r} or aws.instanceTypes.default`
                : `add aws.instanceTypes.${r}, aws.instanceTypes.agents or aws.instanceTypes.default`,
            ),
          );
        }
      }
    }
    for (const e of hostEntries(spec)) {
      if (e.host.address !== undefined)
        out.push(
          err(
            [...e.path, 'address'],
            'aws hosts get their addresses when they are created',
            'use count: instead of listing addresses',
          ),
        );
    }
    for (const [k, v] of Object.entries((aws['endpoints'] ?? {}) as Record<string, unknown>)) {
      if (typeof v === 'string' && !/^https?:\/\/[^\s]+$/.test(v))
        out.push(err(['aws', 'endpoints', k], `endpoint '${v}' is not an http(s) URL`));
    }
    for (const [i, c] of ((aws['adminCidrs'] ?? []) as unknown[]).entries()) {
      if (typeof c === 'string' && !isIpv4Cidr(c))
        out.push(err(['aws', 'adminCidrs', i], `'${c}' is not an IPv4 CIDR`, 'e.g. 203.0.113.0/24'));
    }
  }
  if (spec.state.backend === 's3' && spec.state.bucket === undefined) {
    out.push(
      err(['state'], 'state backend s3 needs a bucket', 'add state.bucket (and optionally key and region)'),
    );
  }
  const endpoint = spec.state.endpoint;
  if (endpoint !== undefined && !/^https?:\/\/[^\s]+$/.test(endpoint))
    out.push(err(['state', 'endpoint'], `endpoint '${endpoint}' is not an http(s) URL`));
  out.push(...installRules(spec));
  if (spec.install.method === 'archive' && spec.install.options['archive'] === undefined) {
    out.push(
      err(
        ['install'],
        'install.method archive needs the archive to upload',
        'add install.archive: path/to/mesos.tar.gz',
      ),
    );
  }
  return out;
};

// Debian names are lower case; RPM names may have capitals (perl-Digest-SHA, NetworkManager).
const PACKAGE_NAME = /^[A-Za-z0-9][A-Za-z0-9+._-]*$/;
const PACKAGE_VERSION = /^[A-Za-z0-9.+~:_-]+$/;
const URL = /^(https?|file):\/\/[^\s'"\\]+$/;

/** install: repositories, package names and versions, pinned images. */
function installRules(spec: Spec): Diagnostic[] {
  const out: Diagnostic[] = [];
  const ins = spec.install;
  const repo = ins.repository;
  if (
    repo !== undefined &&
    (ins.method === 'apt' || (ins.method === 'archive' && repo.baseurl === undefined))
  ) {
    if (repo.url === undefined || repo.suite === undefined)
      out.push(
        err(
          ['install', 'repository'],
          'an apt repository needs url and suite',
          'e.g. { url: http://repos.mesosphere.com/debian, suite: stretch, components: [main] }',
        ),
      );
    for (const [i, c] of repo.components.entries())
      if (!/^[A-Za-z0-9._/-]+$/.test(c))
        out.push(err(['install', 'repository', 'components', i], `component '${c}' has unsafe characters`));
    if (repo.suite !== undefined && !/^[A-Za-z0-9._/-]+$/.test(repo.suite))
      out.push(err(['install', 'repository', 'suite'], `suite '${repo.suite}' has unsafe characters`));
  }
  if (repo !== undefined && ins.method === 'yum' && repo.baseurl === undefined)
    out.push(
      err(
        ['install', 'repository'],
        'a yum repository needs baseurl',
        'e.g. { baseurl: http://repos.mesosphere.com/el/7/x86_64/ }',
      ),
    );
  if (repo !== undefined && (ins.method === 'docker' || ins.method === 'none'))
    out.push(
      warn(
        ['install', 'repository'],
        `install.method ${ins.method} does not use a repository`,
        'remove install.repository, or use method apt, yum or archive',
      ),
    );
  for (const key of ['url', 'baseurl'] as const) {
    const v = repo?.[key];
    if (v !== undefined && !URL.test(v))
      out.push(err(['install', 'repository', key], `'${v}' is not an http(s) or file URL`));
  }
  const given = spec.install.options['packages'];
  const seen = new Set<string>();
  ins.packages.forEach((p, i) => {
    const where: SpecPath = Array.isArray(given)
      ? ['install', 'packages', i]
      : ['install', 'packages', Object.keys(given ?? {})[i] ?? i];
    if (given !== undefined && !PACKAGE_NAME.test(p.name))
      out.push(err(where, `package name '${p.name}' is not a valid package name`));
    else if (seen.has(p.name)) out.push(err(where, `package ${p.name} is listed twice`, 'list it once'));
    seen.add(p.name);
    if (p.version !== undefined && !PACKAGE_VERSION.test(p.version))
      out.push(err(['install', 'versions'], `version '${p.version}' of ${p.name} has unsafe characters`));
  });
  const versions = spec.install.options['versions'];
  if (versions !== null && typeof versions === 'object') {
    const known = new Set([
      ...ins.packages.map((p) => p.name),
      ...(Array.isArray(given) ? [] : Object.keys(given ?? {})),
    ]);
    for (const k of Object.keys(versions)) {
      if (!known.has(k))
        out.push(
          err(
            ['install', 'versions', k],
            `versions.${k} names no package`,
            ins.packages.length === 0
              ? 'list the packages in install.packages (or give install.repository for the defaults)'
              : `pin one of: ${[...known].join(', ')}`,
          ),
        );
    }
  }
  if (ins.method === 'docker') {
    for (const [key, image] of Object.entries(ins.images)) {
      const last = image.split('/').pop() ?? image;
      if (!image.includes('@') && (!last.includes(':') || last.endsWith(':latest')))
        out.push(
          err(
            ['install', 'images', key],
            `image '${image}' is not pinned`,
            'give a tag other than latest, or a digest (name@sha256:...)',
          ),
        );
    }
  }
  const ssl = spec.security.ssl;
  if (ssl?.upload.ca !== undefined && ssl.caFile === undefined)
    out.push(
      err(
        ['security', 'ssl', 'upload', 'ca'],
        'a CA to upload needs caFile, the path it goes to on the hosts',
        'add security.ssl.caFile, e.g. /etc/ssl/mesos/ca.pem',
      ),
    );
  const key = spec.security.ssl?.upload.key;
  if (key !== undefined && !SAFE.secretRef.test(key))
    out.push(
      err(
        ['security', 'ssl', 'upload', 'key'],
        'the key must be given by reference, never inline',
        'use file:PATH (or env:NAME)',
      ),
    );
  return out;
}

export const RULES: readonly Rule[] = [
  masterCount,
  quorum,
  ensemble,
  hostLists,
  hostIdentity,
  agentGroups,
  flags,
  ports,
  secrets,
  values,
  provider,
];

export function runRules(ctx: RuleContext): Diagnostic[] {
  return RULES.flatMap((rule) => rule(ctx));
}
