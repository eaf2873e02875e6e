// A model checker of its own for the membership sequences of src/plan/sequence.ts: it applies every
// step to a simulated world and checks safety at every moment (while a step runs and after it),
// exhaustively over ensemble sizes and leaders. It shares no code with the sequencer.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { masterSequence, zkSequence } from '../src/plan/sequence.js';
import type { MasterSequence, ZkMember, ZkStep } from '../src/plan/sequence.js';
import { isMesoError } from '../src/util/errors.js';

type List = ReadonlyMap<number, string>;
interface Node {
  host: string;
  id: number;
  value: string;
  running: boolean;
  /** The list it runs with (running), or the one on file (stopped; counted, to be safe). */
  list: List | undefined;
}
/** By host. */
type World = Map<string, Node>;

const addr = (id: number): string => `10.0.0.${id}:2888:3888`;
const movedAddr = (id: number): string => `10.0.1.${id}:2888:3888`;
const hostOf = (id: number, value: string): string => (value === addr(id) ? `h${id}` : `h${id}new`);
const ids = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1);
const ens = (n: number, moved?: number): List =>
  new Map(ids(n).map((i) => [i, i === moved ? movedAddr(i) : addr(i)]));
const has = (l: List | undefined, e: { id: number; value: string }): boolean => l?.get(e.id) === e.value;
const eq = (a: List, b: List): boolean => a.size === b.size && [...a].every(([i, v]) => b.get(i) === v);
const dist = (a: List, b: List): number =>
  [...a].filter(([i, v]) => b.get(i) !== v).length + [...b.keys()].filter((i) => !a.has(i)).length;
const maj = (l: List): number => Math.floor(l.size / 2) + 1;
const show = (l: List | undefined): string =>
  l === undefined
    ? '-'
    : [...l]
        .sort(([a], [b]) => a - b)
        .map(([i, v]) => (v === addr(i) ? `${i}` : `${i}'`))
        .join(',');
const clone = (w: World): World => new Map([...w].map(([h, n]) => [h, { ...n }]));
const state = (w: World): string =>
  [...w.values()].map((n) => `${n.host}:${n.running ? 'up' : 'down'}[${show(n.list)}]`).join(' ');

/**
 * (a) Two leaders at once, with disjoint quorums. A leader holds a list that contains it; a member
 * counts toward its quorum when the leader's list contains the member and the member's list contains
 * the leader (it can reach it and is let in). Every member that holds a list counts, stopped or not.
 * This is stronger than "holders of L1 and holders of L2 both have a majority". For a pair of leaders
 * the largest disjoint quorums are exact: their exclusive followers first, then the shared ones.
 */
function splitBrain(w: World): string | undefined {
  const holders = [...w.values()].filter((n) => n.list !== undefined);
  const leaders = holders.filter((n) => has(n.list, n));
  for (const a of leaders)
    for (const b of leaders) {
      if (a === b || eq(a.list!, b.list!)) continue; // one list: two majorities of it always meet
      const q = (l: Node, o: Node): Node[] =>
        holders.filter((f) => f !== o && has(l.list, f) && has(f.list, l));
      const qa = q(a, b);
      const qb = q(b, a);
      const shared = qa.filter((f) => qb.includes(f)).length;
      const needA = Math.max(0, maj(a.list!) - (qa.length - shared));
      const needB = Math.max(0, maj(b.list!) - (qb.length - shared));
      if (needA + needB <= shared)
        return `split brain: ${a.host} with servers ${show(a.list)} and ${b.host} with ${show(b.list)}`;
    }
  return undefined;
}

/**
 * (b) Some list L (held by a member that leads) and a set S of running members, each in L, each
 * holding a list that contains all of S, with |S| a majority of L. Exhaustive over subsets.
 */
function available(w: World): boolean {
  const up = [...w.values()].filter((n) => n.running && n.list !== undefined);
  for (let s = 1; s < 1 << up.length; s++) {
    const set = up.filter((_, i) => s & (1 << i));
    if (set.every((x) => set.every((y) => has(x.list, y))) && set.some((l) => set.length >= maj(l.list!)))
      return true;
  }
  return false;
}

/** (c) Every desired member runs the desired list; nothing else runs. */
function endState(w: World, desired: List): string | undefined {
  for (const n of w.values()) {
    const want = has(desired, n);
    if (want && (!n.running || !eq(n.list!, desired)))
      return `end: ${n.host} should run servers ${show(desired)}; ${state(w)}`;
    if (!want && n.running) return `end: ${n.host} still runs; ${state(w)}`;
  }
  return undefined;
}

/**
 * (d) The lists written one after another (from the list that ran) differ by one server each. A
 * hand-over restart rewrites the list its member runs with (checked in simulate) and is skipped.
 */
function rounds(from: List, steps: readonly ZkStep[]): string | undefined {
  let at = from;
  for (const [i, s] of steps.entries()) {
    if (s.list === undefined || s.handover === true || eq(s.list, at)) continue;
    if (dist(at, s.list) !== 1) return `step ${i}: servers ${show(at)} -> ${show(s.list)} in one round`;
    at = s.list;
  }
  return undefined;
}

/**
 * Applies `steps` to `w` (in place) and returns the first violation of (a) or (b). A step's member
 * is down while it runs. Outage steps are allowed only when `outageOk`; the flag must be honest.
 */
function simulate(w: World, steps: readonly ZkStep[], outageOk: boolean): string | undefined {
  for (const [i, s] of steps.entries()) {
    const n = w.get(s.host);
    if (n === undefined) return `step ${i}: unknown host ${s.host}`;
    const at = `step ${i} (${s.action} ${s.host} ${show(s.list)})`;
    if (s.handover === true && (!n.running || s.list === undefined || !eq(s.list, n.list!)))
      return `${at}: a hand-over restarts a running member with its own list`;
    n.running = false;
    const sb = splitBrain(w);
    if (sb !== undefined) return `${at}, while it runs: ${sb}; ${state(w)}`;
    const up = available(w);
    if (!s.outage && !up) return `${at}: no majority while it runs, not marked as an outage; ${state(w)}`;
    if (s.outage && up) return `${at}: marked as an outage but a majority serves; ${state(w)}`;
    if (s.outage && !outageOk) return `${at}: an outage in an ensemble of three or more; ${state(w)}`;
    if (s.action !== 'stop') {
      if (s.list === undefined) return `${at}: no list`;
      n.running = true;
      n.list = s.list;
    }
    const after = splitBrain(w);
    if (after !== undefined) return `${at}, after it: ${after}; ${state(w)}`;
  }
  return undefined;
}

const membersOf = (w: World, leader?: string, pending?: ZkStep): ZkMember[] =>
  [...w.values()].map((n) => {
    const written = pending?.host === n.host && pending.list !== undefined;
    return {
      host: n.host,
      id: n.id,
      value: n.value,
      running: n.running,
      leader: n.running && n.host === leader,
      list: written ? pending.list : n.list,
      ...(written && n.running ? { pending: true } : {}),
    };
  });

/** Current members 1..n (`moved` at its old address, running or not), desired ones not yet there. */
function worldOf(n: number, desired: List, moved?: { id: number; running: boolean }): World {
  const w: World = new Map();
  const add = (id: number, value: string, running: boolean, list?: List): unknown =>
    w.has(hostOf(id, value)) ||
    w.set(hostOf(id, value), { host: hostOf(id, value), id, value, running, list });
  for (const id of ids(n)) add(id, addr(id), id !== moved?.id || moved.running, ens(n));
  for (const [id, value] of desired) add(id, value, false);
  return w;
}

/** Plans, simulates and checks one change; returns its steps and the first violation. */
function check(w0: World, desired: List, leader: string | undefined, outageOk: boolean) {
  const w = clone(w0);
  const from = [...w.values()].find((n) => n.running)!.list!;
  const seq = zkSequence(membersOf(w, leader), desired, hostOf);
  const steps = seq?.steps ?? [];
  const violation =
    simulate(w, steps, outageOk) ??
    endState(w, desired) ??
    rounds(from, steps) ??
    (zkSequence(membersOf(w), desired, hostOf) === undefined ? undefined : 'not done: planned again');
  return { violation, steps };
}

/** The leaders to try: none, or any running member. */
const hostsOf = (w: World): (string | undefined)[] => [
  undefined,
  ...[...w.values()].filter((n) => n.running).map((n) => n.host),
];

void test('zookeeper: every grow and shrink of 1..7 members, every leader, is safe at every moment', () => {
  let runs = 0;
  for (let n = 1; n <= 7; n++)
    for (let m = 1; m <= 7; m++) {
      const desired = ens(m);
      const w = worldOf(n, desired);
      for (const leader of hostsOf(w)) {
        const r = check(w, desired, leader, Math.min(n, m) <= 2);
        const at = `${n} -> ${m}, leader ${leader ?? 'none'}`;
        assert.equal(r.violation, undefined, `${at}: ${r.violation}`);
        if (n === m) assert.equal(r.steps.length, 0, `${at}: nothing to do`);
        else assert.ok(r.steps.length > 0, at);
        // One round per server added or removed, one member changed per step.
        assert.equal(new Set(r.steps.map((s) => s.round)).size, Math.abs(n - m), at);
        if (Math.min(n, m) >= 3) assert.ok(!r.steps.some((s) => s.outage), `${at}: no outage`);
        // Followers first, the leader last (then another leads: it is known for the first round only).
        const lr = r.steps.findIndex((s) => s.host === leader && s.action === 'restart' && !s.handover);
        if (Math.min(n, m) >= 3 && lr >= 0 && r.steps[lr]!.round === 1)
          assert.ok(!r.steps.slice(lr + 1).some((t) => t.round === 1 && t.action === 'restart'), at);
        runs++;
      }
    }
  assert.equal(runs, 49 * 5); // leaders: none or one of the n running, summed over n = 1..7: 7 + 28
});

void test('zookeeper: a member moved to a new address (same id) in 3 and 5, its old host up or gone', () => {
  let refused = 0;
  for (const n of [3, 5])
    for (const id of ids(n))
      for (const running of [true, false]) {
        const desired = ens(n, id);
        const w = worldOf(n, desired, { id, running });
        for (const leader of hostsOf(w)) {
          const at = `move ${id} in ${n}, old host ${running ? 'up' : 'gone'}, leader ${leader ?? 'none'}`;
          // The same id goes out, then in: the ensemble passes through n - 1 members, 2 for n = 3. Its
          // moment without a majority may be marked (it cannot be avoided) or refused; not hidden.
          let r: ReturnType<typeof check>;
          try {
            r = check(w, desired, leader, n === 3);
          } catch (e) {
            assert.ok(n === 3 && isMesoError(e, 'PlanUnsafe'), `${at}: ${String(e)}`);
            refused++;
            continue;
          }
          assert.equal(r.violation, undefined, `${at}: ${r.violation}`);
          assert.deepEqual([...new Set(r.steps.map((s) => s.round))], [1, 2], at);
          // The new address joins only once the old one is out of the ensemble.
          assert.ok(
            r.steps.every((s) => s.host !== `h${id}new` || s.round === 2),
            at,
          );
        }
      }
  // A move in 3 passes through 2 members: its moment without a majority is marked, not refused.
  assert.equal(refused, 0);
});

/** What resuming found, by kind; `unsafe` breaks (a)-(d), the others are defects but safe. */
interface Resumed {
  cases: number;
  unsafe: string[];
  refused: string[];
  flag: string[];
  longer: string[];
}

/**
 * Every interruption point of one change: after step k, and with step k+1's zoo.cfg written but its
 * (re)start not done; each planned again (any running member leading), run to the end and checked.
 */
function resume(r: Resumed, name: string, w0: World, desired: List, outageOk: boolean): void {
  const first = check(w0, desired, undefined, outageOk);
  assert.equal(first.violation, undefined, `${name}: ${first.violation}`);
  const initial = [...w0.values()].find((n) => n.running)!.list!;
  for (const [k, next] of first.steps.entries()) {
    const w = clone(w0);
    const done = first.steps.slice(0, k);
    assert.equal(simulate(w, done, outageOk), undefined);
    for (const pending of next.action === 'stop' ? [undefined] : [undefined, next]) {
      const wk = clone(w);
      if (pending !== undefined && !wk.get(pending.host)!.running) wk.get(pending.host)!.list = pending.list;
      for (const leader of hostsOf(wk)) {
        r.cases++;
        const at = `${name}, stopped before step ${k} (${next.action} ${next.host})${pending ? ' with its zoo.cfg written' : ''}, leader ${leader ?? 'none'}; ${state(wk)}`;
        let again: ReturnType<typeof zkSequence>;
        try {
          again = zkSequence(membersOf(wk, leader, pending), desired, hostOf);
        } catch (e) {
          r.refused.push(`${at}: ${String(e)}`);
          continue;
        }
        const world = clone(wk);
        const rest = again?.steps ?? [];
        const v =
          simulate(world, rest, outageOk) ??
          endState(world, desired) ??
          rounds(initial, [...done, ...rest]) ??
          (zkSequence(membersOf(world), desired, hostOf) === undefined ? undefined : 'not done');
        const flag = / majority serves|not marked as an outage/.test(v ?? '') && outageOk;
        if (v !== undefined) (flag ? r.flag : r.unsafe).push(`${at}: ${v}`);
        // Nothing done twice for nothing: the rest is no longer than what was left (+ a hand-over).
        if (rest.length > first.steps.length - k + 1) r.longer.push(`${at}: ${rest.length} steps`);
      }
    }
  }
}

let resumed: Resumed | undefined;
/** Every grow and shrink of 1..7, every move in 5 (its old host up or gone), every interruption. */
function resumeEverything(): Resumed {
  if (resumed !== undefined) return resumed;
  const r: Resumed = { cases: 0, unsafe: [], refused: [], flag: [], longer: [] };
  for (let n = 1; n <= 7; n++)
    for (let m = 1; m <= 7; m++)
      if (n !== m) resume(r, `${n} -> ${m}`, worldOf(n, ens(m)), ens(m), Math.min(n, m) <= 2);
  for (const id of ids(5))
    for (const running of [true, false])
      resume(
        r,
        `move ${id} in 5, old host ${running ? 'up' : 'gone'}`,
        worldOf(5, ens(5, id), { id, running }),
        ens(5, id),
        false,
      );
  return (resumed = r);
}
const listed = (l: string[]): string => `${l.length}:\n${l.slice(0, 8).join('\n')}`;

void test('zookeeper: an interrupted change, resumed from any step, stays safe and ends as desired', () => {
  const r = resumeEverything();
  assert.ok(r.cases > 6000, `${r.cases}`);
  assert.deepEqual(r.unsafe, [], listed(r.unsafe));
  // A refusal is safe (nothing is applied); only changes through an ensemble of 1 or 2 may be refused.
  for (const x of r.refused) assert.match(x, /^[12] -> \d|^\d -> [12],/, x);
});

void test('zookeeper: an interrupted change is resumed without a refusal, with honest outage flags, not backwards', () => {
  const r = resumeEverything();
  assert.deepEqual(r.refused, [], `refused ${listed(r.refused)}`);
  assert.deepEqual(r.flag, [], `outage flags wrong ${listed(r.flag)}`);
  assert.deepEqual(r.longer, [], `longer than what was left ${listed(r.longer)}`);
});

const refusal = (f: () => unknown, host: string | undefined): void =>
  assert.throws(f, (e: unknown) => {
    assert.ok(isMesoError(e, 'PlanUnsafe'), String(e));
    if (host !== undefined) assert.match(e.message, new RegExp(`\\b${host}\\b`));
    return true;
  });

void test('zookeeper: refused when a member that stays is down, or the running lists are not one round apart', () => {
  for (const [n, m] of [35, 53, 34, 43, 57, 75].map((x) => [Math.trunc(x / 10), x % 10] as const))
    for (const down of ids(Math.min(n, m))) {
      const w = worldOf(n, ens(m));
      w.get(`h${down}`)!.running = false;
      refusal(() => zkSequence(membersOf(w, `h${down === 1 ? 2 : 1}`), ens(m), hostOf), `h${down}`);
    }
  // The same lists but a member down: nothing changes, nothing to refuse (it is started elsewhere).
  const same = worldOf(3, ens(3));
  same.get('h2')!.running = false;
  assert.equal(zkSequence(membersOf(same, 'h1'), ens(3), hostOf), undefined);
  // Two lists two servers apart, and three lists.
  const far = worldOf(5, ens(5));
  far.get('h1')!.list = ens(3);
  refusal(() => zkSequence(membersOf(far, 'h2'), ens(5), hostOf), undefined);
  const three = worldOf(5, ens(5));
  three.get('h1')!.list = ens(4);
  three.get('h2')!.list = ens(6);
  refusal(() => zkSequence(membersOf(three, 'h3'), ens(5), hostOf), undefined);
  // Nor can the ensemble lose every member.
  refusal(() => zkSequence(membersOf(worldOf(1, ens(1)), 'h1'), new Map(), hostOf), undefined);
});

const step = (host: string, action: ZkStep['action'], list?: List): ZkStep => ({
  host,
  action,
  ...(list === undefined ? {} : { list }),
  round: 1,
  why: 'hand-built',
  outage: false,
  serving: [],
});

void test('the checker is not vacuous: it catches unsafe sequences', () => {
  const w = worldOf(3, ens(5));
  const l5 = ens(5);
  const run = (steps: ZkStep[]): string | undefined => simulate(clone(w), steps, false);
  // The old members restart with the 5-list before the new ones run: 1 and 2 of 5 cannot serve.
  const early = run(['h1', 'h2', 'h3'].map((h) => step(h, 'restart', l5)));
  assert.match(early ?? '', /step 2 .*no majority/);
  // All at once: 4 and 5 start with the 5-list, then 1 restarts with it: {1,4,5} and {2,3} both lead.
  const atOnce = run([step('h4', 'start', l5), step('h5', 'start', l5), step('h1', 'restart', l5)]);
  assert.match(atOnce ?? '', /step 2 .*after it: split brain/);
  // Stopped members still count: 4 and 5 stopped on the 5-list, 1 restarted on the 3-list while 2
  // and 3 keep the 5-list (its outage honestly marked): 4 or 5 could come back and lead 2, 3, 4, 5.
  const shrink = worldOf(5, ens(3));
  const jump = simulate(
    shrink,
    [step('h4', 'stop'), step('h5', 'stop'), { ...step('h1', 'restart', ens(3)), outage: true }],
    true,
  );
  assert.match(jump ?? '', /step 2 .*after it: split brain/);
  // A too-big jump in the written lists, a wrong end, a dishonest outage flag.
  assert.match(rounds(ens(3), [step('h1', 'restart', l5)]) ?? '', /in one round/);
  const partial = clone(w);
  assert.equal(simulate(partial, [step('h4', 'start', ens(4))], false), undefined);
  assert.match(endState(partial, ens(4)) ?? '', /end: h1 should run/);
  assert.match(run([{ ...step('h1', 'restart', ens(3)), outage: true }]) ?? '', /marked as an outage/);
  assert.match(run([step('h2', 'stop'), step('h3', 'stop')]) ?? '', /step 1 .*no majority/);
});

/** Masters: simulates the running ones with their --quorum and checks every moment and the order. */
function masters(n: number, m: number, leader: string | undefined): void {
  const q = (k: number): number => Math.floor(k / 2) + 1;
  const name = (i: number): string => `m${i}`;
  const running = ids(Math.min(n, m)).map(name);
  const absent = ids(m).slice(n).map(name);
  const removed = ids(n).slice(m).map(name);
  const at = `masters ${n} -> ${m}, leader ${leader ?? 'none'}`;
  const seq = masterSequence({ running, absent, removed, leader, from: q(n), to: q(m) });
  const w = new Map(ids(n).map((i) => [name(i), q(n)]));
  const safe = (when: string): void => {
    if (w.size === 0) return;
    const low = Math.min(...w.values());
    assert.ok(w.size <= 2 * low - 1, `${at}, ${when}: ${w.size} masters run, lowest quorum ${low}`);
  };
  safe('before');
  if (seq === undefined) {
    // Nothing for the sequence: the quorum stays and nothing is removed; new ones just start.
    assert.ok(q(n) === q(m) && removed.length === 0, at);
    for (const h of absent) w.set(h, q(m));
    safe('after the starts');
  } else {
    assert.equal(seq.from, q(n), at);
    assert.equal(seq.to, q(m), at);
    for (const [i, s] of seq.steps.entries()) {
      const was = w.get(s.host);
      assert.equal(was === undefined, s.action === 'start', `${at}: step ${i} ${s.action} ${s.host}`);
      w.delete(s.host);
      safe(`during step ${i}`);
      if (s.action !== 'stop') w.set(s.host, s.quorum!);
      safe(`after step ${i}`);
    }
    const idx = (f: (s: MasterSequence['steps'][number]) => boolean): number[] =>
      seq.steps.flatMap((s, i) => (f(s) ? [i] : []));
    const starts = idx((s) => s.action === 'start');
    const restarts = idx((s) => s.action === 'restart');
    const stops = idx((s) => s.action === 'stop');
    assert.equal(seq.registryReset, q(n) === 1 && q(m) > 1, at);
    if (seq.registryReset) {
      assert.ok(Math.max(...stops) < Math.min(...starts), `${at}: every master stops before any starts`);
      assert.deepEqual(stops.length, n, at);
    } else if (m > n) {
      assert.ok(Math.max(-1, ...restarts) < Math.min(...starts), `${at}: restarts before starts`);
      if (leader !== undefined && q(n) !== q(m))
        assert.equal(seq.steps[Math.max(...restarts)]!.host, leader, `${at}: the leader's restart last`);
    } else {
      assert.ok(Math.max(...stops) < Math.min(Infinity, ...restarts), `${at}: removed ones stop first`);
    }
  }
  const end = ids(m).map(name);
  assert.deepEqual([...w.keys()].sort(), end.sort(), `${at}: the desired masters run`);
  assert.ok(
    [...w.values()].every((x) => x === q(m)),
    `${at}: all with quorum ${q(m)}`,
  );
}

void test('masters: every change of 1..7 running masters, every leader, keeps the quorum safe', () => {
  for (let n = 1; n <= 7; n++)
    for (let m = 1; m <= 7; m++) for (const l of [undefined, ...ids(n).map((i) => `m${i}`)]) masters(n, m, l);
});
