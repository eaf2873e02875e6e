import type { Plan } from './types.js';

export const modeString = (mode: number): string => mode.toString(8).padStart(4, '0');

/**
 * The plan as a JSON document (`--json`, `--out`). `format_version`, `summary` and each change's
 * `address`, `action`, `host`, `path` and `reason` are a contract; other fields may be added.
 */
export function planToJson(plan: Plan): Record<string, unknown> {
  return {
    format_version: plan.formatVersion,
    summary: { ...plan.summary },
    changes: plan.changes.map((c) => {
      if (c.kind === 'cloud') {
        return {
          address: c.address,
          action: c.action,
          host: c.host === '' ? null : c.host,
          path: null,
          reason: c.reason,
          kind: c.kind,
          resource: c.resource,
          name: c.name,
          id: c.id,
          attributes: c.attributes.map((a) => ({
            name: a.name,
            before: a.before,
            after: a.after,
            forces_replacement: a.forcesReplacement,
          })),
        };
      }
      if (c.kind === 'host') {
        return {
          address: c.address,
          action: c.action,
          host: c.host,
          path: null,
          reason: c.reason,
          kind: c.kind,
        };
      }
      if (c.kind === 'package') {
        return {
          address: c.address,
          action: c.action,
          host: c.host,
          path: null,
          reason: c.reason,
          kind: c.kind,
          manager: c.manager,
          name: c.name,
          before_version: c.before,
          version: c.after,
          hold: c.hold,
        };
      }
      if (c.kind === 'service') {
        return {
          address: c.address,
          action: c.action,
          host: c.host,
          path: null,
          reason: c.reason,
          kind: c.kind,
          service: c.service,
          unit: c.unit,
          phase: c.phase + 1,
          ...(c.reload === true ? { reload: true } : {}),
          ...(c.recovery === undefined
            ? {}
            : {
                recovery: 'reset',
                work_dir: c.recovery.workDir,
                drain_grace_seconds: c.recovery.drain?.gracePeriodSeconds ?? null,
              }),
        };
      }
      return {
        address: c.address,
        action: c.action,
        host: c.host,
        path: c.path,
        reason: c.reason,
        kind: c.kind,
        sensitive: c.sensitive,
        ...(c.before === undefined ? {} : { before_sha256: c.sensitive ? '(sensitive)' : c.before.sha256 }),
        ...(c.diff === undefined ? {} : { diff: c.diff }),
        ...(c.after === undefined
          ? {}
          : {
              owner: c.after.owner,
              group: c.after.group,
              mode: modeString(c.after.mode),
              sha256: c.sensitive ? '(sensitive)' : c.after.sha256,
            }),
      };
    }),
    cluster: plan.cluster,
    provider: plan.provider,
    offline: plan.offline,
    hosts: plan.hosts,
    systemd: plan.systemd,
    phases: plan.phases.map((p, i) => ({
      order: i + 1,
      service: p.service,
      strategy: p.strategy,
      hosts: p.hosts,
      batch_size: p.batchSize,
      description: p.description,
      ...(p.addon === undefined
        ? {}
        : {
            addon: {
              reload: p.addon.reload,
              quorum: p.addon.quorum !== undefined,
              health: p.addon.health ?? null,
            },
          }),
    })),
    ...(plan.membership === undefined ? {} : { membership: membershipJson(plan) }),
    partial: plan.targets !== undefined,
    targets: plan.targets ?? [],
    unreachable: (plan.unreachable ?? []).map((u) => ({
      address: `host/${u.host}`,
      host: u.host,
      ip: u.address,
      reason: u.reason,
    })),
  };
}

function membershipJson(plan: Plan): Record<string, unknown> {
  const m = plan.membership!;
  return {
    ...(m.zookeeper === undefined
      ? {}
      : {
          zookeeper: {
            method: m.zookeeper.method,
            from: m.zookeeper.from,
            to: m.zookeeper.to,
            steps: m.zookeeper.steps.map((s) => ({
              round: s.round,
              host: s.host,
              action: s.action,
              servers: s.servers ?? null,
              why: s.why,
              outage: s.outage,
              wait_for: s.serving,
              ...(s.handover === true ? { handover: true } : {}),
            })),
          },
        }),
    ...(m.masters === undefined
      ? {}
      : {
          masters: {
            quorum_from: m.masters.from,
            quorum_to: m.masters.to,
            registry_reset: m.masters.registryReset,
            steps: m.masters.steps.map((s) => ({
              host: s.host,
              action: s.action,
              quorum: s.quorum ?? null,
              why: s.why,
              settle: s.settle,
              ...(s.stays === true ? { keeps_unit: true } : {}),
            })),
          },
        }),
  };
}
