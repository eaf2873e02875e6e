// Security groups, then their ingress rules (only the differences are sent).
import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  RevokeSecurityGroupIngressCommand,
} from '@aws-sdk/client-ec2';
import type { IpPermission } from '@aws-sdk/client-ec2';
import type { CloudChange } from '../../plan/types.js';
import { consistent, ec2Tags, record } from './apply-support.js';
import type { CloudRecorder } from './apply-support.js';
import type { DesiredCloud, Permission, SgRole } from './desired.js';
import { call } from './observe.js';
import type { AwsContext, ObservedCloud, ObservedPermission } from './observe.js';
import { ingressDiff } from './plan.js';
import { errorName, withRetry } from './retry.js';

function ipPermission(
  p: Permission | ObservedPermission,
  groupId: (p: Permission | ObservedPermission) => string,
) {
  const base: IpPermission =
    p.protocol === '-1'
      ? { IpProtocol: '-1' }
      : { IpProtocol: p.protocol, FromPort: p.fromPort, ToPort: p.toPort };
  return 'cidr' in p.from
    ? { ...base, IpRanges: [{ CidrIp: p.from.cidr }] }
    : { ...base, UserIdGroupPairs: [{ GroupId: groupId(p) }] };
}

export async function applyGroups(
  ctx: AwsContext,
  d: DesiredCloud,
  o: ObservedCloud,
  changes: readonly CloudChange[],
  r: CloudRecorder,
): Promise<Map<SgRole, string>> {
  const ids = new Map([...o.groups.values()].map((g) => [g.role, g.id]));
  for (const g of d.groups) {
    if (ids.has(g.role)) continue;
    ctx.say(`aws/security-group/${g.role}: creating ${g.name}`);
    const out = await call(ctx, `EC2 CreateSecurityGroup ${g.name}`, () =>
      ctx.clients.ec2.send(
        new CreateSecurityGroupCommand({
          GroupName: g.name,
          Description: g.description,
          ...(d.vpcId === undefined ? {} : { VpcId: d.vpcId }),
          TagSpecifications: [{ ResourceType: 'security-group', Tags: ec2Tags(g.tags) }],
        }),
      ),
    );
    const id = out.GroupId ?? '';
    ids.set(g.role, id);
    await record(r, d.region, `aws/security-group/${g.role}`, 'security-group', g.role, id);
  }
  // Rules after all groups exist, since they reference each other; only the differences are sent.
  const roles = new Map([...ids].map(([role, id]) => [id, role]));
  for (const g of d.groups) {
    if (!changes.some((c) => c.address === `aws/security-group/${g.role}`)) continue;
    const id = ids.get(g.role)!;
    const { add, remove } = ingressDiff(g, o.groups.get(g.role), roles);
    const groupOf = (p: Permission | ObservedPermission): string =>
      'group' in p.from ? ids.get(p.from.group)! : 'groupId' in p.from ? p.from.groupId : '';
    if (remove.length > 0) {
      ctx.say(`aws/security-group/${g.role}: revoking ${remove.map((x) => x.text).join('; ')}`);
      await withRetry(
        `EC2 RevokeSecurityGroupIngress ${g.name}`,
        () =>
          ctx.clients.ec2.send(
            new RevokeSecurityGroupIngressCommand({
              GroupId: id,
              IpPermissions: remove.map((x) => ipPermission(x.perm, groupOf)),
            }),
          ),
        consistent(ctx, `revoke on ${g.name}`),
      );
    }
    if (add.length > 0) {
      ctx.say(`aws/security-group/${g.role}: authorizing ${add.map((x) => x.text).join('; ')}`);
      try {
        await withRetry(
          `EC2 AuthorizeSecurityGroupIngress ${g.name}`,
          () =>
            ctx.clients.ec2.send(
              new AuthorizeSecurityGroupIngressCommand({
                GroupId: id,
                IpPermissions: add.map((x) => ipPermission(x.perm, groupOf)),
              }),
            ),
          consistent(ctx, `authorize on ${g.name}`),
        );
      } catch (e) {
        // Another run added the same rule meanwhile: the goal is reached.
        if (errorName(e) !== 'InvalidPermission.Duplicate') throw e;
      }
    }
  }
  return ids;
}
