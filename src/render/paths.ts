import type { ServiceName } from './types.js';

// Where meso's files go on the hosts.
export const WRAPPER_DIR = '/usr/local/lib/meso';
export const MESOS_RUN = `${WRAPPER_DIR}/mesos-run`;
export const MARATHON_RUN = `${WRAPPER_DIR}/marathon-run`;
export const ZK_CONF = '/etc/zookeeper/conf/zoo.cfg';
export const MESOS_ZK_FILE = '/etc/mesos/zk';
export const MASTER_QUORUM_FILE = '/etc/mesos-master/quorum';
export const CREDENTIALS_FILE = '/etc/mesos/credentials.json';
export const AGENT_CREDENTIAL_FILE = '/etc/mesos/agent-credential.json';
export const ACLS_FILE = '/etc/mesos/acls.json';
export const MARATHON_SECRET_FILE = '/etc/marathon/mesos-secret';
export const DEFAULT_WORK_DIR = '/var/lib/mesos';
export const DEFAULT_LOG_DIR = '/var/log/mesos';
export const APT_SOURCE = '/etc/apt/sources.list.d/meso.sources';
export const APT_KEY = '/etc/apt/keyrings/meso.asc';
export const APT_PINS = '/etc/apt/preferences.d/meso';
export const YUM_REPO = '/etc/yum.repos.d/meso.repo';
export const YUM_KEY = '/etc/pki/rpm-gpg/RPM-GPG-KEY-meso';
export const UNIT_DIR = '/etc/systemd/system';

/** Where meso puts secrets whatever the spec says (the TLS key's path is the spec's own). */
export const SECRET_PATHS: readonly string[] = [
  CREDENTIALS_FILE,
  AGENT_CREDENTIAL_FILE,
  MARATHON_SECRET_FILE,
];

/**
 * Whether a file meso wrote holds a secret, known without the spec (a file that left it): one of
 * meso's secret paths, or mode 0600, which meso gives its sensitive files and only them.
 */
export const looksSecret = (path: string, mode: number): boolean =>
  SECRET_PATHS.includes(path) || mode === 0o600;

/**
 * Which services read a path of meso's layout, for files that are no longer rendered (a removed
 * attribute or flag must still restart the service that read it).
 */
export function servicesReading(path: string): ServiceName[] {
  if (path.startsWith('/etc/mesos-master/')) return ['mesos-master'];
  if (path.startsWith('/etc/mesos-slave/')) return ['mesos-agent'];
  if (path.startsWith('/etc/marathon/')) return ['marathon'];
  if (path.startsWith('/etc/zookeeper/')) return ['zookeeper'];
  if (path.startsWith('/etc/mesos/') || path === '/etc/default/mesos') return ['mesos-master', 'mesos-agent'];
  if (path === '/etc/default/mesos-master') return ['mesos-master'];
  if (path === '/etc/default/mesos-slave') return ['mesos-agent'];
  if (path === '/etc/default/marathon') return ['marathon'];
  return [];
}
