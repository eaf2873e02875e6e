// Validation for provider: aws, run by the provider rule (src/spec/rules/provider.ts). Loaded for every
// spec at validation time: it must not import the AWS SDK.
import { hostEntries } from '../../model/hosts.js';
import { deriveTopology } from '../../model/topology.js';
import type { Diagnostic } from '../../spec/diagnostics.js';
import { err, isIpv4Cidr } from '../../spec/rule-helpers.js';
import type { Rule } from '../../spec/rule-helpers.js';
import { balancerProblem } from './addons.js';

/** The checks of a spec whose provider is aws (the caller checks that it is). */
export const rules: Rule = ({ spec, raw }) => {
  const out: Diagnostic[] = [];
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
  // Add-on ports with balancer: true become admin balancer listeners: only where it can forward them.
  if (spec.addons.some((a) => a.ports.some((p) => p.balancer))) {
    const topology = deriveTopology(spec);
    for (const [i, a] of spec.addons.entries())
      for (const [j, p] of a.ports.entries()) {
        const problem = balancerProblem(a, p, spec, topology);
        if (problem !== undefined)
          out.push(err(['addons', i, 'ports', j, 'balancer'], problem.message, problem.fix));
      }
  }
  return out;
};
