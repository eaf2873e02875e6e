// The port the rest of meso uses to reach a host. Real adapter: ssh.ts; tests use fakes of the same shape.

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface HostConnection {
  readonly name: string;
  /** Run a fixed command; values go in `stdin` or as quoted args, never pasted. */
  exec(command: string, opts?: { stdin?: string | Buffer; timeoutMs?: number }): Promise<ExecResult>;
  close(): Promise<void>;
}

/**
 * How a host's key is checked. `pinned` is an OpenSSH public key line (`ssh-ed25519 AAAA...`) kept in meso's
 * state; when present it is THE key that must match, whatever the policy and whatever known_hosts says.
 * `accept-new` trusts an unknown host on first use and hands its key line to `onNewKey` (once per connect);
 * a known or pinned host presenting a different key is always rejected.
 */
export type HostKeyCheck =
  | { policy: 'strict'; knownHostsPath: string; pinned?: string }
  | { policy: 'accept-new'; knownHostsPath: string; pinned?: string; onNewKey: (key: string) => void };

export interface SshTarget {
  name: string;
  host: string;
  port: number;
  user: string;
  privateKeyPath?: string;
  useAgent: boolean;
  connectTimeoutMs: number;
  hostKey: HostKeyCheck;
  bastion?: { host: string; port: number; user: string; privateKeyPath?: string; hostKey: HostKeyCheck };
  /** Run every command as root through `sudo -n -- sh -c '<command>'` (ignored when `user` is root). */
  sudo?: boolean;
}

// One shell word for the rare argument that must be inline (util/shell.ts); exported here as part of the port.
export { shellQuote } from '../util/shell.js';
