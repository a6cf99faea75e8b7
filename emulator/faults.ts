/**
 * Faults on demand: Key Vault's per-vault throttling (4,000 operations and 300 creations per 10 s
 * by default), added latency, and scripted failures (a status, a dropped connection, a delay) for
 * the next `count` matching requests. Configured in-process or over the admin endpoint.
 */

/** Per-vault request limits in a sliding window; `false` turns throttling off. */
export interface ThrottleLimits {
    operations: number;
    creations: number;
    windowMs: number;
}

/** The service's limits per vault: 4,000 transactions and 300 creations per 10 seconds. */
export const SERVICE_LIMITS: ThrottleLimits = { operations: 4000, creations: 300, windowMs: 10_000 };

/** A scripted fault for the next `count` requests (default 1) matching `vault` and `operation`. */
export type FaultSpec =
    | { vault?: string; operation?: string; kind: "status"; status: number; count?: number }
    | { vault?: string; operation?: string; kind: "drop"; count?: number }
    | { vault?: string; operation?: string; kind: "delay"; ms: number; count?: number };

/** A fault that matched a request and is to be applied to it. */
export type FaultAction = { kind: "status"; status: number } | { kind: "drop" } | { kind: "delay"; ms: number };

/** Checks a fault spec from JSON; throws an error naming the bad field. */
function parseFaultSpec(input: unknown): FaultSpec {
    const s = input as Record<string, unknown>;
    if (!s || typeof s !== "object") throw new Error("fault: expected a JSON object");
    const count = s.count === undefined ? 1 : s.count;
    if (!Number.isInteger(count) || (count as number) < 1) throw new Error(`fault: "count" must be a positive integer, got ${JSON.stringify(s.count)}`);
    for (const f of ["vault", "operation"] as const) {
        if (s[f] !== undefined && typeof s[f] !== "string") throw new Error(`fault: "${f}" must be a string`);
    }
    const base = { vault: s.vault as string | undefined, operation: s.operation as string | undefined, count: count as number };
    switch (s.kind) {
        case "status":
            if (!Number.isInteger(s.status) || (s.status as number) < 400 || (s.status as number) > 599) {
                throw new Error(`fault: "status" must be an HTTP error status 400-599, got ${JSON.stringify(s.status)}`);
            }
            return { ...base, kind: "status", status: s.status as number };
        case "drop":
            return { ...base, kind: "drop" };
        case "delay":
            if (typeof s.ms !== "number" || s.ms < 0) throw new Error(`fault: "ms" must be a non-negative number, got ${JSON.stringify(s.ms)}`);
            return { ...base, kind: "delay", ms: s.ms };
        default:
            throw new Error(`fault: "kind" must be "status", "drop" or "delay", got ${JSON.stringify(s.kind)}`);
    }
}

/** Checks throttle limits from JSON or options; throws naming the bad field. */
function parseThrottle(input: unknown): ThrottleLimits | false {
    if (input === false) return false;
    const t = { ...SERVICE_LIMITS, ...(input as Partial<ThrottleLimits>) };
    for (const f of ["operations", "creations", "windowMs"] as const) {
        if (!Number.isInteger(t[f]) || t[f] < 1) throw new Error(`throttle: "${f}" must be a positive integer, got ${JSON.stringify(t[f])}`);
    }
    return t;
}

/** The faults and limits of one running emulator. */
export class Faults {
    private frozenAt: number | undefined;
    private scripted: (FaultSpec & { count: number })[] = [];
    private latency = 0;
    private limits: ThrottleLimits | false;
    private readonly windows = new Map<string, { operations: number[]; creations: number[] }>();

    constructor(throttle: Partial<ThrottleLimits> | false | undefined, latencyMs = 0) {
        this.limits = parseThrottle(throttle ?? {});
        this.setLatency(latencyMs);
    }

    /** Adds a scripted fault (validated). */
    add(spec: FaultSpec): void {
        const s = parseFaultSpec(spec);
        this.scripted.push({ ...s, count: s.count ?? 1 });
    }

    /** Removes every scripted fault (latency and throttle stay). */
    clear(): void {
        this.scripted = [];
    }

    /** Adds `ms` to every vault response. */
    setLatency(ms: number): void {
        if (typeof ms !== "number" || !(ms >= 0)) throw new Error(`latency must be a non-negative number of milliseconds, got ${ms}`);
        this.latency = ms;
    }

    /** Changes the throttle limits (`false` = off) and starts every vault's window afresh. */
    setThrottle(limits: Partial<ThrottleLimits> | false): void {
        this.limits = parseThrottle(limits);
        this.windows.clear();
    }

    /**
     * Stops the vaults' clock at `ms` (ms since the epoch; objects' `created`/`updated` and the
     * `Date` header then read that time, so two versions can be made in one second on purpose), or
     * lets it run with real time again (`null`).
     */
    setClock(ms: number | null): void {
        if (ms !== null && !(typeof ms === "number" && Number.isFinite(ms) && ms >= 0)) throw new Error(`clock must be a non-negative number of milliseconds since the epoch, or null, got ${ms}`);
        this.frozenAt = ms ?? undefined;
    }

    /** The vaults' time now, in ms since the epoch: the stopped clock's, else real time. */
    now(): number {
        return this.frozenAt ?? Date.now();
    }

    /** The latency added to every vault response, in ms. */
    get latencyMs(): number {
        return this.latency;
    }

    /** The scripted fault for this request, if one matches (using up one of its count). */
    take(vault: string, operation: string): FaultAction | undefined {
        const i = this.scripted.findIndex((f) => (!f.vault || f.vault === vault) && (!f.operation || f.operation === operation));
        if (i < 0) return undefined;
        const f = this.scripted[i];
        if (--f.count <= 0) this.scripted.splice(i, 1);
        if (f.kind === "status") return { kind: "status", status: f.status };
        if (f.kind === "delay") return { kind: "delay", ms: f.ms };
        return { kind: "drop" };
    }

    /**
     * Counts one request against the vault's window; false when over the limit (the request is then
     * refused and not counted). Creations (set, restore) have their own budget, as in the service.
     */
    admit(vault: string, creation: boolean, now = Date.now()): boolean {
        if (!this.limits) return true;
        const w = this.windows.get(vault) ?? { operations: [], creations: [] };
        this.windows.set(vault, w);
        const list = creation ? w.creations : w.operations;
        const limit = creation ? this.limits.creations : this.limits.operations;
        const since = now - this.limits.windowMs;
        while (list.length && list[0] <= since) list.shift();
        if (list.length >= limit) return false;
        list.push(now);
        return true;
    }
}
