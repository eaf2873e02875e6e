import { createRequire } from 'node:module';
import { Command, CommanderError } from 'commander';
import { isMesoError } from '../util/errors.js';
import { phaseDone } from '../util/timing.js';
import { processIo } from './io.js';
import type { Io } from './io.js';
import type { ApplyCmdOptions } from './apply-cmd.js';
import type { DestroyCmdOptions } from './destroy-cmd.js';
import type { GcOptions } from './gc-cmd.js';
import type { InitCmdOptions } from './init-cmd.js';
import type { LogsCmdOptions } from './logs-cmd.js';
import type { PlanOptions } from './plan-cmd.js';
import type { SshCmdOptions } from './ssh-cmd.js';

const require = createRequire(import.meta.url);
const { version } = require('../../../package.json') as { version: string };

// Each command's module is loaded only when it runs: --version loads none, validate no SSH, and
// only a spec whose provider is aws (or whose state is in S3) loads the AWS SDK.

const LOCK_TIMEOUT = '--lock-timeout <duration>';
const TARGET = '--target <address>';
const TARGET_HELP =
  'plan only this change and what it needs (repeatable): host/<name>, host/<name>/file:<path>, host/<name>/service:<service>, aws/instance/<name>';
const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];
const LOCK_TIMEOUT_HELP =
  'wait this long for a state lock another run holds (30s, 15m, 1h; 0s fails at once)';

function program(io: Io, result: { code: number }): Command {
  const p = new Command('meso')
    .description('Provision Apache Mesos clusters from one declarative cluster.yaml')
    .version(version)
    .exitOverride()
    .showSuggestionAfterError(true)
    .configureOutput({ writeOut: io.out, writeErr: io.err });

  p.command('init')
    .description('write a commented cluster.yaml that validates, to edit from there (never overwrites)')
    .option('--provider <name>', 'static (existing hosts), local (containers here) or aws (EC2)', 'local')
    .option('--masters <n>', 'number of masters: 1, 3 or 5 (an odd number keeps a quorum)', '3')
    .option('--agents <n>', 'number of agents in the one agent group (0: none)', '2')
    .option('--name <name>', "the cluster's name (default: lab, mesos or cloud by provider)")
    .option('--out <file>', 'the file to write; an existing file is never overwritten', 'cluster.yaml')
    .action(async (opts: InitCmdOptions) => {
      result.code = await (await import('./init-cmd.js')).initCommand(opts, io);
    });

  p.command('validate')
    .description('check a cluster file: YAML, schema and cluster rules; every error with file:line:col')
    .argument('<file>', 'cluster file, e.g. clusters/ha.yaml')
    .action(async (file: string) => {
      result.code = await (await import('./validate-cmd.js')).validateCommand(file, io);
    });

  p.command('render')
    .description('write every file meso would put on every host as DIR/<host>/<path>, with a manifest')
    .argument('<file>', 'cluster file')
    .requiredOption('--out <dir>', 'directory to write into (new, empty, or an earlier render)')
    .action(async (file: string, opts: { out: string }) => {
      result.code = await (await import('./render-cmd.js')).renderCommand(file, opts, io);
    });

  p.command('plan')
    .description('show what meso would change on every host')
    .argument('<file>', 'cluster file')
    .option('--offline', 'plan against an empty world, without contacting any host')
    .option('--json', 'print the plan as JSON')
    .option('--out <file>', 'save the plan as JSON')
    .option('--detailed-exitcode', 'exit 2 when there are changes, 0 when there are none')
    .option('--cloud-only', 'provider aws: plan the cloud resources alone, without SSH')
    .option('--strict-hosts', 'stop at the first host that cannot be reached (no agent is skipped)')
    .option(TARGET, TARGET_HELP, collect)
    .action(async (file: string, opts: PlanOptions) => {
      result.code = await (await import('./plan-cmd.js')).planCommand(file, opts, io);
    });

  p.command('apply')
    .description('plan against the hosts, show the plan, ask, apply it in a quorum-safe order, verify')
    .argument('<file>', 'cluster file, or a plan saved with `meso plan FILE --out plan.json`')
    .option('--auto-approve', 'apply without asking (needed when there is no terminal)')
    .option('--json', 'progress as JSON lines on stdout')
    .option('--parallelism <n>', 'hosts changed at once', '16')
    .option('--purge-data', 'also delete data directories of hosts removed from the spec')
    .option(
      '--allow-registry-reset',
      "accept that going from one master to more wipes the masters' replicated log (the registry is lost)",
    )
    .option('--cloud-only', 'provider aws: create and reconcile the cloud resources alone, without SSH')
    .option('--strict-hosts', 'stop at the first host that cannot be reached (no agent is skipped)')
    .option(LOCK_TIMEOUT, LOCK_TIMEOUT_HELP, '0s')
    .option(TARGET, TARGET_HELP, collect)
    .action(async (file: string, opts: ApplyCmdOptions) => {
      result.code = await (await import('./apply-cmd.js')).applyCommand(file, opts, io);
    });

  p.command('status')
    .description('check the cluster now: ZooKeeper has one leader and the rest follow')
    .argument('<file>', 'cluster file')
    .option('--json', 'print the checks as JSON')
    .option('--strict-hosts', 'stop at the first host that cannot be reached (no agent is skipped)')
    .action(async (file: string, opts: { json?: boolean; strictHosts?: boolean }) => {
      result.code = await (await import('./status-cmd.js')).statusCommand(file, opts, io);
    });

  p.command('ssh')
    .description(
      "a shell, or COMMAND, on a host of the cluster: the spec's SSH settings, meso's host-key checks",
    )
    .argument('<file>', 'cluster file')
    .argument('<host>', 'host name, e.g. master-1')
    .argument('[command...]', 'after --: the command and its arguments, each passed as one word')
    .option('-t, --tty', 'a remote terminal for COMMAND too (a shell gets one when stdin is a terminal)')
    .action(async (file: string, host: string, command: string[], opts: SshCmdOptions) => {
      result.code = await (await import('./ssh-cmd.js')).sshCommand(file, host, command, opts, io);
    });

  p.command('logs')
    .description("the journal of meso's units on a host: all of them, or one service's")
    .argument('<file>', 'cluster file')
    .argument('<host>', 'host name, e.g. master-1')
    .argument('[service]', 'zookeeper, mesos-master, mesos-agent or marathon (default: all on the host)')
    .option('-n, --lines <n>', 'show the last N lines of the journal', '100')
    .option('-f, --follow', 'keep printing new lines until Ctrl-C')
    .action(async (file: string, host: string, service: string | undefined, opts: LogsCmdOptions) => {
      result.code = await (await import('./logs-cmd.js')).logsCommand(file, host, service, opts, io);
    });

  p.command('endpoints')
    .description('the URLs of the masters (which one leads), ZooKeeper, Marathon, balancers and agents')
    .argument('<file>', 'cluster file')
    .option('--json', 'print them as JSON')
    .action(async (file: string, opts: { json?: boolean }) => {
      result.code = await (await import('./endpoints-cmd.js')).endpointsCommand(file, opts, io);
    });

  p.command('destroy')
    .description(
      "stop and disable meso's services, remove the files it wrote (data kept), remove local hosts",
    )
    .argument('<file>', 'cluster file')
    .option('--auto-approve', 'destroy without asking')
    .option('--purge-data', 'also delete data directories')
    .option('--json', 'progress as JSON lines on stdout')
    .option('--by-tag', 'provider aws: also sweep every balancer and bucket of the region by the cluster tag')
    .option(LOCK_TIMEOUT, LOCK_TIMEOUT_HELP, '0s')
    .action(async (file: string, opts: DestroyCmdOptions) => {
      result.code = await (await import('./destroy-cmd.js')).destroyCommand(file, opts, io);
    });
  p.command('force-unlock')
    .description("remove the cluster state's lock, e.g. after a run was killed (say whose it was)")
    .argument('<file>', 'cluster file')
    .action(async (file: string) => {
      result.code = await (await import('./unlock-cmd.js')).forceUnlockCommand(file, io);
    });
  p.command('gc')
    .description('provider aws: destroy every cluster whose aws.expiresAt has passed, found by its tags')
    .requiredOption('--region <region>', 'the AWS region to sweep')
    .option('--dry-run', 'list the expired clusters and their resources, delete nothing')
    .option('--auto-approve', 'destroy without asking')
    .option('--json', 'progress as JSON lines on stdout')
    .action(async (opts: GcOptions) => {
      result.code = await (await import('./gc-cmd.js')).gcCommand(opts, io);
    });
  return p;
}

/** Run meso; returns the exit code. Expected failures print a message and a hint, never a stack. */
export async function main(argv: string[], io: Io = processIo): Promise<number> {
  phaseDone('boot');
  const result = { code: 0 };
  try {
    await program(io, result).parseAsync(argv);
    return result.code;
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help and version end "successfully"; usage errors were already printed by commander.
      return e.exitCode === 0 ? 0 : 1;
    }
    if (isMesoError(e)) {
      io.err(`error: ${e.message}\n`);
      if (e.hint !== undefined) io.err(`hint: ${e.hint}\n`);
      return 1;
    }
    const err = e instanceof Error ? e : new Error(String(e));
    io.err(`error: ${err.message}\nThis is a bug in meso. Please report it with the command you ran`);
    io.err(
      process.env['MESO_DEBUG'] === '1'
        ? `:\n${err.stack ?? ''}\n`
        : ' (set MESO_DEBUG=1 to see where it happened).\n',
    );
    return 1;
  }
}
