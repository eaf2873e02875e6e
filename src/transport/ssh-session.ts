// What the SSH modules share: the narrow view of ssh2, one hop of a connection and its live session.
import type { Duplex, Readable } from 'node:stream';
import type { NodeSSH } from 'node-ssh';
import type { HostKeyCheck } from './host.js';
import type { PublicKey } from './known-hosts.js';

// ---------------------------------------------------------------------------------------------------------
// The part of ssh2 we use. ssh2 ships no types (and @types/ssh2 is not a dependency), so node-ssh's typings
// degrade to `any`; these narrow interfaces keep the SSH modules type-checked.

export interface Ssh2Channel extends Duplex {
  readonly stderr: Readable;
  readonly outgoing?: { id?: number; state?: string };
  signal(name: string): void;
  close(): void;
}

export interface Ssh2Client {
  exec(command: string, cb: (err: Error | undefined, channel: Ssh2Channel) => void): void;
  forwardOut(
    srcIP: string,
    srcPort: number,
    dstIP: string,
    dstPort: number,
    cb: (err: Error | undefined, channel: Ssh2Channel) => void,
  ): void;
  end(): void;
  destroy?(): void;
  on(event: 'error', listener: (err: Error) => void): this;
  on(event: 'close', listener: () => void): this;
  once(event: 'close', listener: () => void): this;
  off(event: 'close', listener: () => void): this;
  readonly _sock?: { destroyed?: boolean; destroy?: () => void };
  readonly _protocol?: { signal?(channelId: number, signalName: string): void };
}

export interface Ssh2ConnectConfig {
  host: string;
  port: number;
  username: string;
  privateKey?: string;
  agent?: string;
  readyTimeout: number;
  keepaliveInterval: number;
  keepaliveCountMax: number;
  hostVerifier: (key: Buffer) => boolean;
  algorithms?: { serverHostKey: string[] };
  sock?: Duplex;
}

// ---------------------------------------------------------------------------------------------------------

export interface Hop {
  /** How messages name this hop: the host's name, or "<name> (bastion host:port)". */
  label: string;
  host: string;
  port: number;
  user: string;
  privateKeyPath: string | undefined;
  agent: string | undefined;
  useAgent: boolean;
  connectTimeoutMs: number;
  hostKey: HostKeyCheck;
  via: Session | undefined;
}

export interface Session {
  ssh: NodeSSH;
  client: Ssh2Client;
  presented: PublicKey;
  /** The last error ssh2 reported after login (a reset, a keepalive timeout), for messages. */
  lastError: Error | undefined;
}

export function endClient(client: Ssh2Client): Promise<void> {
  return new Promise((resolve) => {
    if (client._sock?.destroyed === true) return resolve();
    const t = setTimeout(() => {
      // ssh2's destroy() does nothing once end() was called: the socket itself is destroyed.
      client.destroy?.();
      client._sock?.destroy?.();
      resolve();
    }, 2000);
    t.unref();
    client.once('close', () => {
      clearTimeout(t);
      resolve();
    });
    client.end();
  });
}

export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
