import { addonRules } from '../addons/rules.js';
import type { Diagnostic } from './diagnostics.js';
import type { Rule, RuleContext } from './rule-helpers.js';
import { agentGroups } from './rules/agents.js';
import { flags } from './rules/flags.js';
import { hostIdentity, hostLists } from './rules/hosts.js';
import { masterCount, quorum } from './rules/masters.js';
import { ports } from './rules/ports.js';
import { provider } from './rules/provider.js';
import { secrets } from './rules/security.js';
import { values } from './rules/values.js';
import { ensemble } from './rules/zookeeper.js';

export type { Rule, RuleContext } from './rule-helpers.js';
export { SAFE } from './rule-helpers.js';

// Each rule lives in src/spec/rules/ by topic; the provider rule runs src/providers/<provider>/rules.ts.

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
  addonRules,
  provider,
];

export function runRules(ctx: RuleContext): Diagnostic[] {
  return RULES.flatMap((rule) => rule(ctx));
}
