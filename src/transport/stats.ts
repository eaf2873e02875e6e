// Round-trip counters per host, so the apply benchmark can report how many logins and commands it cost.

export interface HostCounters {
  /** TCP+SSH connection attempts, failed ones and retries included. */
  connectAttempts: number;
  /** Connections that completed authentication. */
  connections: number;
  /** Commands run (one SSH channel each). */
  execs: number;
  /** Wall time spent in exec, in milliseconds. */
  execMillis: number;
}

export class TransportStats {
  private readonly byHost = new Map<string, HostCounters>();

  /** The live counters for one host (created at zero on first use). */
  counters(host: string): HostCounters {
    let c = this.byHost.get(host);
    if (c === undefined) {
      c = { connectAttempts: 0, connections: 0, execs: 0, execMillis: 0 };
      this.byHost.set(host, c);
    }
    return c;
  }

  /** A copy, hosts sorted by name so reports are deterministic. */
  snapshot(): Record<string, HostCounters> {
    const out: Record<string, HostCounters> = {};
    for (const host of [...this.byHost.keys()].sort()) {
      const c = this.byHost.get(host);
      if (c !== undefined) out[host] = { ...c };
    }
    return out;
  }

  totals(): HostCounters {
    const t: HostCounters = { connectAttempts: 0, connections: 0, execs: 0, execMillis: 0 };
    for (const c of this.byHost.values()) {
      t.connectAttempts += c.connectAttempts;
      t.connections += c.connections;
      t.execs += c.execs;
      t.execMillis += c.execMillis;
    }
    return t;
  }
}
