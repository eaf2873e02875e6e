// What a host runs and where it comes from: packages and their repositories, the archive, images.
import type { TopologyHost } from '../model/topology.js';
import type { Spec } from '../spec/types.js';
import { asset } from './host-builder.js';
import type { HostBuilder } from './host-builder.js';
import { APT_KEY, APT_PINS, APT_SOURCE, YUM_KEY, YUM_REPO } from './paths.js';
import { MANAGED } from './text.js';
import { SERVICE_OF_ROLE } from './types.js';
import type { Assets, DesiredSoftware, ServiceName } from './types.js';

/** The repository files of apt or yum: source, signing key, version pins. */
export function repositoryFiles(
  b: HostBuilder,
  spec: Spec,
  software: DesiredSoftware[],
  assets: Assets,
): void {
  const ins = spec.install;
  const repo = ins.repository;
  const pinned = software.flatMap((s) =>
    s.kind === 'package' && s.version !== undefined ? [[s.name, s.version] as const] : [],
  );
  // An archive's runtime libraries may come from a repository too: apt by url, yum by baseurl.
  const apt = ins.method === 'apt' || (ins.method === 'archive' && repo?.url !== undefined);
  const yum = ins.method === 'yum' || (ins.method === 'archive' && repo?.baseurl !== undefined);
  if (apt) {
    if (repo !== undefined) {
      const lines = [
        `# ${MANAGED}`,
        `# The package repository of cluster ${spec.name}.`,
        'Types: deb',
        `URIs: ${repo.url ?? ''}`,
        `Suites: ${repo.suite ?? ''}`,
      ];
      if (repo.components.length > 0) lines.push(`Components: ${repo.components.join(' ')}`);
      if (repo.key !== undefined) {
        lines.push(`Signed-By: ${APT_KEY}`);
        b.add(APT_KEY, asset(assets, repo.key, 'the repository key'), []);
      }
      b.add(APT_SOURCE, `${lines.join('\n')}\n`, []);
    }
    if (pinned.length > 0) {
      const stanzas = pinned.map(
        ([name, version]) => `Package: ${name}\nPin: version ${version}\nPin-Priority: 1001`,
      );
      b.add(
        APT_PINS,
        `# ${MANAGED}\n# The versions install.versions pins; meso also holds them (apt-mark hold).\n\n${stanzas.join('\n\n')}\n`,
        [],
      );
    }
  }
  if (yum && repo !== undefined) {
    const lines = [
      `# ${MANAGED}`,
      '[meso]',
      `name=meso: packages of cluster ${spec.name}`,
      `baseurl=${repo.baseurl ?? ''}`,
      'enabled=1',
    ];
    if (repo.key !== undefined) {
      lines.push('gpgcheck=1', `gpgkey=file://${YUM_KEY}`);
      b.add(YUM_KEY, asset(assets, repo.key, 'the repository key'), []);
    } else lines.push('gpgcheck=0');
    b.add(YUM_REPO, `${lines.join('\n')}\n`, []);
  }
}

/** What the host runs, and the packages, archive or images that provide it. */
export function softwareOf(spec: Spec, host: TopologyHost, assets: Assets): DesiredSoftware[] {
  const ins = spec.install;
  const roles = new Set(host.roles);
  const mesosFeeds: ServiceName[] = [
    ...(roles.has('master') ? (['mesos-master'] as const) : []),
    ...(roles.has('agent') ? (['mesos-agent'] as const) : []),
  ];
  const out: DesiredSoftware[] = [];
  if (ins.method === 'apt' || ins.method === 'yum' || ins.method === 'archive') {
    const manager = ins.method === 'archive' ? 'os' : ins.method;
    for (const p of ins.packages) {
      const feeds: ServiceName[] =
        p.component === 'zookeeper'
          ? roles.has('zookeeper')
            ? ['zookeeper']
            : []
          : p.component === 'marathon'
            ? roles.has('marathon')
              ? ['marathon']
              : []
            : mesosFeeds;
      if (p.component !== 'extra' && feeds.length === 0) continue;
      out.push({ kind: 'package', manager, name: p.name, component: p.component, version: p.version, feeds });
    }
  }
  if (ins.method === 'archive' && mesosFeeds.length > 0 && assets.archive !== undefined) {
    out.push({
      kind: 'archive',
      prefix: ins.prefix,
      sha256: assets.archive.sha256,
      source: assets.archive.path,
      feeds: mesosFeeds,
    });
  }
  if (ins.method === 'docker') {
    const images: [ServiceName, string][] = [
      ['zookeeper', ins.images.zookeeper],
      ['mesos-master', ins.images.mesosMaster],
      ['marathon', ins.images.marathon],
      ['mesos-agent', ins.images.mesosAgent],
    ];
    for (const [service, ref] of images)
      if (host.roles.some((r) => SERVICE_OF_ROLE[r] === service))
        out.push({ kind: 'image', ref, feeds: [service] });
  }
  return out;
}
