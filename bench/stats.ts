/** Small measurement helpers for the bench: percentiles, a fixed-seed generator, a host's peak memory. */
import * as fs from "node:fs";

/** The `p`-th percentile (0-100) of `values` by the nearest-rank method; NaN when empty. */
export function percentile(values: number[], p: number): number {
    if (values.length === 0) return NaN;
    const sorted = [...values].sort((a, b) => a - b);
    const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
    return sorted[Math.min(rank, sorted.length) - 1];
}

/** Milliseconds since `start` (a `performance.now()` reading), rounded to 0.01 ms. */
export function since(start: number): number {
    return round(performance.now() - start, 2);
}

/** `value` rounded to `digits` decimals. */
export function round(value: number, digits = 1): number {
    const f = 10 ** digits;
    return Math.round(value * f) / f;
}

/** A deterministic generator (mulberry32) so secret values are the same on every run. */
export function seededRandom(seed: number): () => number {
    let a = seed >>> 0;
    return () => {
        a = (a + 0x6d2b79f5) >>> 0;
        let t = a;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}

/**
 * Peak resident memory (`VmHWM`) of process `pid` in MiB, from /proc; throws naming the pid when
 * the process is gone or /proc has no such line (the figure would be meaningless).
 */
export function peakMemoryMiB(pid: number): number {
    const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
    const match = /^VmHWM:\s+(\d+)\s+kB$/m.exec(status);
    if (!match) throw new Error(`/proc/${pid}/status has no VmHWM line`);
    return round(Number(match[1]) / 1024, 1);
}

/** The command line of process `pid` (to record which process a memory figure belongs to). */
export function commandLine(pid: number): string {
    return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean).join(" ");
}

/** CPU time (user + system) process `pid` has used so far, in ms, from /proc (clock ticks of 10 ms). */
export function processCpuMs(pid: number): number {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may hold spaces) start at ") "; utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** CPU time (user + system) this process has used so far, in ms. */
export function ownCpuMs(): number {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
}

/** User and system CPU time (ms) so far of process `pid` (all its threads) and of its main thread, from /proc. */
export interface CpuSplit {
    process: { user: number; system: number };
    main: { user: number; system: number };
}

/** Reads `CpuSplit` of process `pid`. */
export function cpuSplit(pid: number): CpuSplit {
    return { process: cpuSplitMs(`/proc/${pid}/stat`), main: cpuSplitMs(`/proc/${pid}/task/${pid}/stat`) };
}

/**
 * The CPU (ms) a process spent between the readings `then` and `now`: in all, on its main thread
 * (which runs its JavaScript, with TLS and the system calls made there), and its other threads'
 * user time (V8's helpers: garbage collection, compilation) and system time (libuv's pool: file system calls).
 */
export function cpuSpent(then: CpuSplit, now: CpuSplit): { total: number; main: number; otherUser: number; otherSystem: number } {
    const user = now.process.user - then.process.user;
    const system = now.process.system - then.process.system;
    const mainUser = now.main.user - then.main.user;
    const mainSystem = now.main.system - then.main.system;
    return { total: user + system, main: mainUser + mainSystem, otherUser: user - mainUser, otherSystem: system - mainSystem };
}

/** The item whose `by` is the median of `items` (the lower middle of an even number); throws on none. */
export function lowerMedian<T>(items: T[], by: (item: T) => number): T {
    if (items.length === 0) throw new Error("no items to take the median of");
    return [...items].sort((a, b) => by(a) - by(b))[Math.floor((items.length - 1) / 2)];
}

function cpuSplitMs(statFile: string): { user: number; system: number } {
    const stat = fs.readFileSync(statFile, "utf8");
    // Fields after the command name (which may hold spaces) start at ") "; utime and stime are fields 14 and 15, in 10 ms ticks.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return { user: Number(fields[11]) * 10, system: Number(fields[12]) * 10 };
}

/** Resident memory (`VmRSS`) of process `pid` now, in MiB, from /proc; throws naming the pid when there is no such line. */
export function residentMemoryMiB(pid: number): number {
    const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
    const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
    if (!match) throw new Error(`/proc/${pid}/status has no VmRSS line`);
    return round(Number(match[1]) / 1024, 1);
}
