import { normalizeAddons } from '../addons/normalize.js';
import { PROVIDERS } from '../providers/registry.js';
import type {
  AgentGroupSpec,
  Credential,
  Flags,
  HostGroupSpec,
  HostSpec,
  InstallSpec,
  PackageSpec,
  Spec,
} from './types.js';

/** Default container images for `install.method: docker`; the spec pins its own with install.images. */
export const DEFAULT_IMAGES = {
  zookeeper: 'zookeeper:3.8',
  mesosMaster: 'mesosphere/mesos-master:1.11.0',
  mesosAgent: 'mesosphere/mesos-slave:1.11.0',
  marathon: 'mesosphere/marathon:v1.11.24',
} as const;

type Raw = Record<string, unknown>;

const obj = (v: unknown): Raw => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Raw) : {});
const str = (v: unknown, d: string): string => (typeof v === 'string' ? v : d);
const optStr = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: unknown, d: number): number => (typeof v === 'number' ? v : d);
const bool = (v: unknown, d: boolean): boolean => (typeof v === 'boolean' ? v : d);

function hostList(raw: Raw, countPrefix: string): HostGroupSpec {
  const count = typeof raw['count'] === 'number' ? raw['count'] : undefined;
  if (Array.isArray(raw['hosts'])) {
    return { hosts: (raw['hosts'] as unknown[]).map((h) => host(obj(h))), count: undefined };
  }
  if (count !== undefined) {
    const hosts = Array.from({ length: count }, (_, i) => host({ name: `${countPrefix}-${i + 1}` }));
    return { hosts, count };
  }
  return { hosts: [], count: undefined };
}

function host(raw: Raw): HostSpec {
  const address = optStr(raw['address']);
  return {
    name: str(raw['name'], ''),
    address,
    privateAddress: optStr(raw['privateAddress']) ?? address,
    myid: typeof raw['myid'] === 'number' ? raw['myid'] : undefined,
    sshPort: typeof raw['sshPort'] === 'number' ? raw['sshPort'] : undefined,
  };
}

function flags(v: unknown): Flags {
  const out: Record<string, string | number | boolean> = {};
  for (const [k, value] of Object.entries(obj(v))) {
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') out[k] = value;
  }
  return out;
}

/** `cpus:4;ports(*):[31000-32000]` or `{ cpus: 4 }` as ordered name/value pairs. */
export function parseResources(v: unknown): (readonly [string, string])[] {
  if (typeof v === 'string') {
    return v
      .split(';')
      .map((part) => part.trim())
      .filter((part) => part !== '')
      .map((part) => {
        const colon = part.indexOf(':');
        return colon < 0
          ? ([part, ''] as const)
          : ([part.slice(0, colon).trim(), part.slice(colon + 1).trim()] as const);
      });
  }
  return Object.entries(obj(v)).map(([k, value]) => [k, String(value)] as const);
}

function credential(v: unknown): Credential | undefined {
  const raw = obj(v);
  if (typeof raw['principal'] !== 'string' || typeof raw['secret'] !== 'string') return undefined;
  return { principal: raw['principal'], secret: raw['secret'] };
}

/** The package of each component when a repository is given without `packages:`. */
export const DEFAULT_PACKAGES: Readonly<Record<'zookeeper' | 'mesos' | 'marathon', string>> = {
  zookeeper: 'zookeeper',
  mesos: 'mesos',
  marathon: 'marathon',
};

const COMPONENTS = new Set(['zookeeper', 'mesos', 'marathon']);

/**
 * `packages:` as a list (every host) or a map of component -> package name (`zookeeper`, `mesos`,
 * `marathon` go where those run; other keys on every host); `versions:` by component or package name.
 */
function packages(raw: Raw, method: InstallSpec['method'], hasRepository: boolean): PackageSpec[] {
  const versions = obj(raw['versions']);
  const given = raw['packages'];
  let named: [string, PackageSpec['component']][];
  if (Array.isArray(given)) named = given.map((n) => [String(n), 'extra']);
  else if (given !== undefined)
    named = Object.entries(obj(given)).map(([k, v]) => [
      String(v),
      method !== 'archive' && COMPONENTS.has(k) ? (k as PackageSpec['component']) : 'extra',
    ]);
  else if ((method === 'apt' || method === 'yum') && hasRepository)
    named = Object.entries(DEFAULT_PACKAGES).map(([k, v]) => [v, k as PackageSpec['component']]);
  else named = [];
  const byComponent = Array.isArray(given) ? {} : obj(given);
  return named.map(([name, component]) => {
    const key = Object.keys(byComponent).find((k) => byComponent[k] === name);
    const version = optStr(versions[name]) ?? (key === undefined ? undefined : optStr(versions[key]));
    return { name, component, version };
  });
}

/** install.missing when the spec does not say: the provider's default (error for an unknown one). */
const installMissingDefault = (provider: unknown): 'warn' | 'error' =>
  PROVIDERS.find((p) => p.name === provider)?.installMissing ?? 'error';

function install(raw: Raw, provider: unknown): InstallSpec {
  const method = str(raw['method'], 'apt') as InstallSpec['method'];
  const images = obj(raw['images']);
  const { method: _m, images: _i, ...options } = raw;
  const repo = raw['repository'] === undefined ? undefined : obj(raw['repository']);
  return {
    method,
    options,
    repository:
      repo === undefined
        ? undefined
        : {
            url: optStr(repo['url']),
            suite: optStr(repo['suite']),
            components: Array.isArray(repo['components']) ? repo['components'].map(String) : [],
            baseurl: optStr(repo['baseurl']),
            key: optStr(repo['key']),
          },
    packages: packages(raw, method, repo !== undefined),
    archive: optStr(raw['archive']),
    sha256: optStr(raw['sha256']),
    prefix: str(raw['prefix'], '/opt/mesos').replace(/(.)\/+$/, '$1'),
    missing:
      raw['missing'] === 'warn' || raw['missing'] === 'error'
        ? raw['missing']
        : installMissingDefault(provider),
    images: {
      zookeeper: str(images['zookeeper'], DEFAULT_IMAGES.zookeeper),
      mesosMaster: str(images['mesosMaster'], DEFAULT_IMAGES.mesosMaster),
      mesosAgent: str(images['mesosAgent'], DEFAULT_IMAGES.mesosAgent),
      marathon: str(images['marathon'], DEFAULT_IMAGES.marathon),
    },
  };
}

/**
 * Apply every default to a document that passed the schema. Pure; never fails on a schema-valid
 * document (semantic problems are the rules' business, not this function's).
 */
export function normalize(data: unknown): Spec {
  const root = obj(data);
  const name = str(root['name'], '');
  const ssh = obj(root['ssh']);
  const bastion = root['ssh'] !== undefined && ssh['bastion'] !== undefined ? obj(ssh['bastion']) : undefined;
  const zk = obj(root['zookeeper']);
  const masters = obj(root['masters']);
  const marathon = obj(root['marathon']);
  const security = obj(root['security']);
  const auth = obj(security['authentication']);
  const ssl = security['ssl'] === undefined ? undefined : obj(security['ssl']);
  const state = obj(root['state']);
  const local = obj(root['local']);
  const sshUser = str(ssh['user'], 'root');
  const zkOnMasters = !Array.isArray(zk['hosts']) && zk['count'] === undefined;

  const agents: AgentGroupSpec[] = (Array.isArray(root['agents']) ? root['agents'] : []).map((g: unknown) => {
    const raw = obj(g);
    const group = str(raw['group'], '');
    return {
      ...hostList(raw, group),
      group,
      public: bool(raw['public'], false),
      containerizers: Array.isArray(raw['containerizers']) ? raw['containerizers'].map(String) : ['mesos'],
      isolation: Array.isArray(raw['isolation']) ? raw['isolation'].map(String) : [],
      attributes: Object.fromEntries(Object.entries(obj(raw['attributes'])).map(([k, v]) => [k, String(v)])),
      resources: parseResources(raw['resources']),
      flags: flags(raw['flags']),
      maxUnavailable:
        typeof raw['maxUnavailable'] === 'number' ? raw['maxUnavailable'] : str(raw['maxUnavailable'], '10%'),
      maxUnreachable:
        typeof raw['maxUnreachable'] === 'number' ? raw['maxUnreachable'] : str(raw['maxUnreachable'], '10%'),
      drain:
        raw['drain'] === true || (raw['drain'] !== null && typeof raw['drain'] === 'object')
          ? {
              gracePeriodSeconds: num(obj(raw['drain'])['gracePeriodSeconds'], 300),
              timeoutSeconds: num(obj(raw['drain'])['timeoutSeconds'], 900),
            }
          : undefined,
    };
  });

  return {
    apiVersion: 'meso/v1',
    kind: 'Cluster',
    name,
    provider: str(root['provider'], 'static') as Spec['provider'],
    ssh: {
      user: sshUser,
      privateKeyPath: optStr(ssh['privateKeyPath']),
      port: num(ssh['port'], 22),
      hostKeyPolicy: ssh['hostKeyPolicy'] === 'accept-new' ? 'accept-new' : 'strict',
      knownHostsPath: str(ssh['knownHostsPath'], '~/.ssh/known_hosts'),
      useAgent: bool(ssh['useAgent'], false),
      connectTimeoutSeconds: num(ssh['connectTimeoutSeconds'], 10),
      bastion:
        bastion === undefined
          ? undefined
          : {
              host: str(bastion['host'], ''),
              user: str(bastion['user'], sshUser),
              port: num(bastion['port'], 22),
              privateKeyPath: optStr(bastion['privateKeyPath']) ?? optStr(ssh['privateKeyPath']),
            },
    },
    install: install(obj(root['install']), root['provider']),
    zookeeper: {
      onMasters: zkOnMasters,
      dedicated: zkOnMasters ? { hosts: [], count: undefined } : hostList(zk, 'zk'),
      clientPort: num(zk['clientPort'], 2181),
      peerPort: num(zk['peerPort'], 2888),
      electionPort: num(zk['electionPort'], 3888),
      dataDir: str(zk['dataDir'], '/var/lib/zookeeper'),
      tickTime: num(zk['tickTime'], 2000),
      initLimit: num(zk['initLimit'], 10),
      syncLimit: num(zk['syncLimit'], 5),
      myid: zk['myid'] === 'last-octet' ? 'last-octet' : 'sequential',
      settings: Object.fromEntries(
        Object.entries(obj(zk['settings'])).filter((e): e is [string, string | number | boolean] =>
          ['string', 'number', 'boolean'].includes(typeof e[1]),
        ),
      ),
    },
    masters: {
      ...hostList(masters, 'master'),
      quorum: typeof masters['quorum'] === 'number' ? masters['quorum'] : 'auto',
      cluster: str(masters['cluster'], name),
      flags: flags(masters['flags']),
      allowEvenCount: bool(masters['allowEvenCount'], false),
    },
    agents,
    marathon: {
      enabled: bool(marathon['enabled'], false),
      flags: flags(marathon['flags']),
      javaOpts: str(marathon['javaOpts'], '-Xmx512m'),
    },
    security: {
      authenticateFrameworks: bool(auth['frameworks'], false),
      authenticateAgents: bool(auth['agents'], false),
      credentials: (Array.isArray(auth['credentials']) ? auth['credentials'] : [])
        .map(credential)
        .filter((c): c is Credential => c !== undefined),
      agentCredential: credential(auth['agent']),
      marathonCredential: credential(auth['marathon']),
      acls: security['acls'] === undefined ? undefined : obj(security['acls']),
      ssl:
        ssl === undefined
          ? undefined
          : {
              enabled: bool(ssl['enabled'], true),
              certFile: str(ssl['certFile'], ''),
              keyFile: str(ssl['keyFile'], ''),
              caFile: optStr(ssl['caFile']),
              requireCert: bool(ssl['requireCert'], false),
              upload: {
                cert: optStr(obj(ssl['upload'])['cert']),
                key: optStr(obj(ssl['upload'])['key']),
                ca: optStr(obj(ssl['upload'])['ca']),
              },
            },
    },
    aws: obj(root['aws']),
    local: {
      subnet: str(local['subnet'], '198.18.0.0/24'),
      packages: Array.isArray(local['packages']) ? local['packages'].map(String) : [],
    },
    state: {
      backend: state['backend'] === 's3' ? 's3' : 'local',
      path: optStr(state['path']),
      bucket: optStr(state['bucket']),
      key: optStr(state['key']),
      region: optStr(state['region']),
      endpoint: optStr(state['endpoint']),
      lockTimeoutSeconds: num(state['lockTimeoutSeconds'], 600),
    },
    addons: normalizeAddons(root['addons']),
  };
}
