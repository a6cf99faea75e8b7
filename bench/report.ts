/**
 * Turns the measurements into rows (name, value, unit, how it was measured), prints them as a
 * table and writes `bench/results.json` with the machine it ran on.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import type { SizeResult } from "./provider-size";
import type { LatencyResult } from "./latency";
import type { BulkResult } from "./bulk";
import type { CompareResult } from "./compare";
import type { BigFolderResult } from "./big-folder";
import type { FloorResult } from "./floor";
import type { ProfileResult, ProfilePart } from "./profile";
import type { VaultBackupResult } from "./vault-backup-run";
import { cliPlanLabel, type CliResult } from "./cli";
import { BULK_LATENCY_MS, BULK_WARMUP, VAULT_LIMIT } from "./bulk";
import { LATENCY_WARMUP } from "./latency";
import { round } from "./stats";

/** One reported figure; `before` is the same figure before issue 14's work, where it was measured. */
export interface Figure {
    name: string;
    value: number | string | boolean;
    before?: number | string;
    unit: string;
    method: string;
}

/**
 * The figures before issue 14's work (commit 5cfac6c, this machine, 2026-12-01 00:49 UTC, load
 * average 0.9, the same bench with the emulator in the bench process), keyed by figure name.
 * The emulator's CPU was then only known together with the engine side's. Then every backup, standalone
 * or a `VaultBackup` child, made one vault call, so both warm-latency shapes share the one figure.
 */
export const BEFORE: Record<string, number | string> = {
    "warm backup, median": 11.1,
    "warm backup, p95": 17.66,
    "warm backup as VaultBackup's child, median": 11.1,
    "warm backup as VaultBackup's child, p95": 17.66,
    "host start to first finished backup": 1159.5,
    "bulk 16 in flight: secrets per second": 172.6,
    "bulk 16 in flight: share of the vault's limit": 43.1,
    "bulk 16 in flight: CPU per backup, host": 5.41,
    "bulk 16 in flight: host peak memory": 170.6,
    "bulk 64 in flight: secrets per second": 194.8,
    "bulk 64 in flight: share of the vault's limit": 48.7,
    "bulk 64 in flight: CPU per backup, host": 5.52,
    "bulk 64 in flight: CPU per backup, emulator": "2.6 (emulator + engine side together)",
    "bulk 64 in flight: host peak memory": 194.2,
    "pacing check, limit 400/10 s, 64 in flight: share of the vault's limit": 94.5,
    "pacing check, limit 400/10 s, 64 in flight: CPU per backup, host": 7.64,
};

/** Everything one run measured (a phase left out with `--only` is absent). */
export interface Measurements {
    size?: SizeResult;
    latency?: LatencyResult;
    compare?: CompareResult;
    bulk?: BulkResult[];
    folder?: BigFolderResult;
    profile?: ProfileResult;
    vaultBackup?: VaultBackupResult;
    floor?: FloorResult[];
    /** The `cli` phase: VaultBackup through the real Pulumi CLI (written to its own `cli` section). */
    cli?: CliResult;
}

/** The figures, in table order. */
export function figures(m: Measurements): Figure[] {
    const rows: Figure[] = [];
    const add = (name: string, value: Figure["value"], unit: string, method: string): void =>
        void rows.push({ name, value, ...(BEFORE[name] !== undefined ? { before: BEFORE[name] } : {}), unit, method });
    if (m.size) {
        const { repository: r, installed: i } = m.size;
        add("__provider size, from the repository", r.bytes, "bytes", `UTF-8 length of __provider registered by a program run under setMocks in the repository; it requires "${r.loads}"`);
        add("__provider size, installed package", i.bytes, "bytes", `npm pack (${i.tarballFiles} files, ${i.tarballBytes} bytes), \`${i.npmInstall}\` into a scratch project (${i.installMs} ms), a one-resource program there under setMocks; it requires "${i.loads}"`);
        add("backup through the host from the installed package", i.backupThroughHostFromInstall, "", "Check+Create of that program's SecretBackup through a provider host started in the scratch project; the file landed in the project's ./backups");
    }
    if (m.latency) {
        const l = m.latency;
        add("host start to first finished backup", l.coldStartToFirstBackupMs, "ms", `spawn of the dynamic-provider host to its first Create answered: host ready + Configure ${l.coldSteps.hostReadyMs} ms, first Check (loads the provider) ${l.coldSteps.firstCheckMs} ms, first Create (token, TLS, backup, file) ${l.coldSteps.firstCreateMs} ms; no added latency`);
        add("warm backup, median", l.warm.medianMs, "ms", `Check+Create round trips of standalone SecretBackups (version listing, then Backup Secret) through the host one at a time, ${l.warm.samples} samples after ${1 + LATENCY_WARMUP} unmeasured; no added latency`);
        add("warm backup, p95", l.warm.p95Ms, "ms", `same ${l.warm.samples} samples (nearest rank); min ${l.warm.minMs}, max ${l.warm.maxMs} ms`);
        add("warm backup as VaultBackup's child, median", l.warmChildren.medianMs, "ms", `the same ${l.warmChildren.samples} secrets again in the same host as VaultBackup registers them (sourceUpdatedOn from a real listing: Backup Secret only), one at a time; no added latency`);
        add("warm backup as VaultBackup's child, p95", l.warmChildren.p95Ms, "ms", `same ${l.warmChildren.samples} samples (nearest rank); min ${l.warmChildren.minMs}, max ${l.warmChildren.maxMs} ms`);
    }
    for (const b of m.bulk ?? []) {
        const p = b.plan;
        const limit = `${p.limit.operations} operations/${p.limit.windowMs / 1000} s`;
        const pacing = p.pacingPer10Seconds ? `provider paced at ${p.pacingPer10Seconds}/10 s` : "provider's default pacing (3,600/10 s)";
        const shape = p.standalone ? "standalone SecretBackups (each lists its secret's versions, then backs up: two vault calls)" : "SecretBackups as VaultBackup's children (sourceUpdatedOn from a real listing of the vault, so one vault call each)";
        const form = p.installed ? `the package installed from npm pack into a scratch project, the host started there (__provider ${Buffer.byteLength(p.installed.providerText)} bytes)` : "from this checkout (__provider of the repository)";
        const how = `${p.secrets} new ${shape}, ${form}, in one host, ${p.parallel} Check+Create in flight, after ${BULK_WARMUP} unmeasured; emulator (own process) limit ${limit} per vault, +${p.latencyMs ?? BULK_LATENCY_MS} ms per call; ${pacing}`;
        const perSecond = p.limit.operations / (p.limit.windowMs / 1000);
        const runs = b.repeats && b.repeats.length > 1 ? `; the run with the median host CPU of ${b.repeats.length} (host CPU ${b.repeats.map((r) => r.hostCpuMs).join(", ")} ms, ${b.repeats.map((r) => r.secretsPerSecond).join(", ")} secrets/s)` : "";
        add(`${p.label}: secrets per second`, b.secretsPerSecond, "/s", `${how}; ${b.elapsedMs} ms first start to last finish${runs}`);
        add(`${p.label}: share of the vault's limit`, round(b.shareOfVaultLimit * 100, 1), "%", `vault operations per second the limit counts (all but 401 challenges and 429s; ${p.standalone ? "two per backup: the version listing and Backup Secret" : "one per backup"}) / ${perSecond} (${limit}); ${b.vaultRequests} vault requests in the measured part; busiest ${p.limit.windowMs / 1000} s window ${b.busiestWindow} of ${p.limit.operations}`);
        add(`${p.label}: 429s received`, b.throttled429, "", "status 429 answers to this vault in the emulator's request log during the run (warm-up included)");
        add(`${p.label}: failures`, b.failures.length, "", "Check or Create calls that failed");
        add(`${p.label}: CPU per backup, host`, b.cpuMsPerBackup.host, "ms", `utime+stime of the host process from /proc over the measured part / secrets: ${b.hostCpuMsPerBackupByThread.main} ms on its main thread (JavaScript: gRPC, the Azure SDK, TLS, HTTP, the provider), ${b.hostCpuMsPerBackupByThread.otherUser} ms user time on its other threads (V8's helpers: GC, compilation), ${b.hostCpuMsPerBackupByThread.otherSystem} ms system time there (libuv's pool: the kernel's side of the file system calls, fsync above all)`);
        add(`${p.label}: CPU per backup, emulator`, b.cpuMsPerBackup.emulator, "ms", "utime+stime of the emulator process (keyvault-emulator CLI) from /proc over the measured part / secrets answered");
        add(`${p.label}: CPU per backup, engine side`, b.cpuMsPerBackup.driver, "ms", "process.cpuUsage() of the bench process (the engine's gRPC client and struct conversion) over the measured part / secrets");
        add(`${p.label}: host peak memory`, b.hostPeakMemoryMiB, "MiB", `VmHWM of the host process from /proc (${b.hostProcess.slice(0, 90)}); ${b.hostStartMemoryMiB} MiB (VmRSS) once started and configured, before the provider is loaded: @pulumi/pulumi's host alone`);
    }
    for (const f of m.floor ?? []) {
        add(`host's own CPU per Check+Create, ${f.form === "installed" ? "package installed" : "from a checkout"} (a provider that does nothing)`, f.hostCpuMs, "ms", `${f.secrets} resources of the bulk run, ${f.parallel} in flight, through the real host with the ${f.form === "installed" ? "installed package's" : "checkout's"} __provider (${f.providerBytes} bytes) pointed at dist/bench/null-operations.js (no vault call, no file): ${f.mainThreadCpuMs} ms on the main thread; median of ${f.runs.length} runs (${f.runs.join(", ")} ms). @pulumi/pulumi's host spends this whatever the provider does`);
    }
    const b1000 = m.bulk?.find((b) => b.plan.vault === "bulk64" && b.plan.secrets === 1000 && !b.plan.latencyMs);
    const b5000 = m.bulk?.find((b) => b.plan.secrets === 5000);
    if (b1000 && b5000) {
        add("host peak memory, 5,000 / 1,000 backups", round(b5000.hostPeakMemoryMiB / b1000.hostPeakMemoryMiB, 3), "x", `${b5000.hostPeakMemoryMiB} / ${b1000.hostPeakMemoryMiB} MiB (VmHWM), both at 64 in flight`);
    }
    if (m.folder) {
        const f = m.folder;
        add(`${f.empty.plan.label}: CPU per backup, host, empty folder`, f.empty.cpuMsPerBackup.host, "ms", `utime+stime of the host over the measured backups / ${f.empty.plan.secrets}; the warm-up (${BULK_WARMUP} backups, with the folder's one sweep) took ${f.empty.warmupHostCpuMs} ms of CPU`);
        add(`${f.full.plan.label}: CPU per backup, host, folder of ${f.files}`, f.full.cpuMsPerBackup.host, "ms", `the same into a folder already holding ${f.files} backups; its warm-up (with the one sweep of the folder) took ${f.full.warmupHostCpuMs} ms of CPU`);
        add("CPU per backup, folder of 100,000 / empty folder", f.cpuRatio, "x", `ratio of the medians of ${f.hostCpuMs.empty.length} alternating runs each (empty: ${f.hostCpuMs.empty.join(", ")} ms; full: ${f.hostCpuMs.full.join(", ")} ms) (target: within 10 %)`);
    }
    if (m.vaultBackup) {
        for (const r of m.vaultBackup.runs) {
            add(`VaultBackup of ${r.secrets} secrets through the harness`, round(r.totalMs / 1000, 1), "s", `LocalEngine up (Pulumi's program runner, the real host) of a program in the project where the packed package is installed, from its start to the vault's last answered Backup Secret: ${round(r.beforeFirstBackupMs / 1000, 1)} s before the first backup (program, listing, registering, host start), ${round(r.backingUpMs / 1000, 1)} s backing up; +${BULK_LATENCY_MS} ms per call; ${r.failures} not backed up`);
        }
        if (m.vaultBackup.error) add("VaultBackup through the harness", "failed", "", m.vaultBackup.error.slice(0, 300));
        else add("VaultBackup total growth over linear", m.vaultBackup.growthOverLinear, "x", "(large total / small total) / (large secrets / small secrets): 1 is linear, above 1 worse");
    }
    if (m.profile) {
        const pr = m.profile;
        const parts = (list: ProfilePart[]): string => list.filter((x) => x.percent >= 1).map((x) => `${x.part} ${x.percent} %`).join("; ");
        add("host CPU profile", parts(pr.host), "", `node --cpu-prof on the provider host, ${pr.plan}, whole process life; self time of each sample given to the first part found from its leaf frame toward the root (bench/profile.ts); ${pr.files.host}`);
        add("emulator CPU profile", parts(pr.emulator), "", `node --cpu-prof on the emulator process over the same run; ${pr.files.emulator}`);
    }
    if (m.compare) {
        const c = m.compare;
        add(`shell loop, per secret (${c.secrets} secrets)`, c.shellLoop.perSecretMs, "ms", `sh while-loop starting one node per secret: ClientSecretCredential + SecretClient.backupSecret + write file; ${c.shellLoop.totalMs} ms total; +${BULK_LATENCY_MS} ms per call`);
        add(`provider one at a time, per secret (${c.secrets} secrets)`, c.providerSequential.perSecretMs, "ms", `one host from spawn to the ${c.secrets}th finished Check+Create, one in flight; ${c.providerSequential.totalMs} ms total; +${BULK_LATENCY_MS} ms per call`);
        add("shell loop / provider one at a time", round(c.shellLoop.perSecretMs / c.providerSequential.perSecretMs, 1), "x", "ratio of the two per-secret times");
        const b16 = m.bulk?.find((b) => b.plan.vault === "bulk16");
        if (b16) {
            const perSecret = round(1000 / b16.secretsPerSecond, 2);
            add("provider 16 in flight, per secret", perSecret, "ms", "1 / secrets per second of the bulk run at 16 in flight");
            add("shell loop / provider 16 in flight", round(c.shellLoop.perSecretMs / perSecret, 0), "x", "ratio of the two per-secret times");
        }
    }
    return rows;
}

/** The figures as an aligned text table. */
export function table(rows: Figure[]): string {
    const withUnit = (v: Figure["value"], unit: string): string => `${v}${unit && unit !== "x" ? " " + unit : unit}`;
    const cells = rows.map((r) => [r.name, typeof r.value === "string" && r.value.length > 40 ? "(in results.json)" : `${r.before !== undefined ? `${r.before} -> ` : ""}${withUnit(r.value, r.unit)}`]);
    const w = Math.max(...cells.map((c) => c[0].length), 6);
    const v = Math.max(...cells.map((c) => c[1].length), 5);
    const line = `+${"-".repeat(w + 2)}+${"-".repeat(v + 2)}+`;
    const fmt = (a: string, b: string): string => `| ${a.padEnd(w)} | ${b.padStart(v)} |`;
    return [line, fmt("figure", "value"), line, ...cells.map(([a, b]) => fmt(a, b)), line].join("\n");
}

/** The 1, 5 and 15 minute load averages now (other work on the machine slows every figure). */
export function loadAverage(): string {
    return os.loadavg().map((l) => round(l, 2)).join(" ");
}

/** The machine and run facts recorded with the figures. */
export function machine(loadAverageAtStart: string): Record<string, string | number> {
    return {
        loadAverageAtStart,
        nproc: os.availableParallelism(),
        cpu: os.cpus()[0]?.model ?? "unknown",
        memoryGiB: round(os.totalmem() / 2 ** 30, 1),
        loadAverageAtEnd: loadAverage(),
        node: process.version,
        platform: `${os.platform()} ${os.release()}`,
        date: new Date().toISOString(),
    };
}

/** What one bench run was: its timing, and whether it ran every phase or only some (`--only`). */
export interface RunFacts {
    totalSeconds: number;
    phaseSeconds: Record<string, number>;
    loadAverageAtStart: string;
    /** The phases this run measured; all of them unless `--only` was given. */
    phases: string[];
    /** True when `--only` left phases out: the file's other sections are kept, not overwritten. */
    partial: boolean;
}

/**
 * Writes the results file (via a temporary file, so a failed run never leaves half a file). A full
 * run writes every section. A partial run (`--only`) merges into the file there: a run of only
 * `cli` replaces the `cli` section and leaves everything else as it was; other phases replace
 * their `raw` entries and the figures of the same name (new names are appended), and are listed
 * with this run's machine under `partialRuns`. The `cli` figures live in the `cli` section only.
 */
export function writeResults(file: string, rows: Figure[], m: Measurements, run: RunFacts): void {
    const { cli, ...rest } = m;
    const cliSection = cli ? {
        command: "npm run bench -- --only cli",
        machine: machine(run.loadAverageAtStart),
        seconds: run.phaseSeconds.cli ?? run.totalSeconds,
        figures: cliFigures(cli),
        raw: cli,
    } : undefined;
    const measuredOther = run.phases.filter((p) => p !== "cli");
    let body: Record<string, unknown>;
    if (!run.partial) {
        body = {
            command: "npm run bench",
            machine: machine(run.loadAverageAtStart),
            totalSeconds: run.totalSeconds,
            phaseSeconds: run.phaseSeconds,
            tls: "verified: the emulator's certificate chains to the bench CA in .cache/bench-ca, trusted through NODE_EXTRA_CA_CERTS",
            figures: rows,
            raw: rest,
            ...(cliSection ? { cli: cliSection } : {}),
        };
    } else {
        body = fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>) : { command: "npm run bench", figures: [], raw: {} };
        if (measuredOther.length) {
            const byName = new Map(rows.map((r) => [r.name, r]));
            const old = (body.figures as Figure[] | undefined) ?? [];
            body.figures = [...old.map((r) => byName.get(r.name) ?? r), ...rows.filter((r) => !old.some((o) => o.name === r.name))];
            body.raw = { ...(body.raw as Record<string, unknown> | undefined), ...rest };
            const partialRuns = (body.partialRuns as unknown[] | undefined) ?? [];
            body.partialRuns = [...partialRuns, { phases: measuredOther, machine: machine(run.loadAverageAtStart), phaseSeconds: run.phaseSeconds }];
        }
        if (cliSection) body.cli = cliSection;
    }
    const temp = file.replace(/\.json$/, ".tmp.json");
    fs.writeFileSync(temp, JSON.stringify(body, null, 2) + "\n");
    fs.renameSync(temp, file);
}

/** The `cli` phase's figures: per plan, both `up`s' wall time, the engine's CPU and memory, and how they grow. */
export function cliFigures(c: CliResult): Figure[] {
    const rows: Figure[] = [];
    const add = (name: string, value: Figure["value"], unit: string, method: string): void => void rows.push({ name, value, unit, method });
    const cpuMethod = "utime+stime of the `pulumi` process alone (all its threads), read from /proc/<pid>/stat after it exited and before it was reaped (a wrapper waits with waitid(WEXITED|WNOWAIT), reads the zombie's stat, then reaps it with wait4)";
    for (const r of c.runs) {
        const label = `CLI, ${cliPlanLabel(r.plan)}`;
        const f = r.first;
        const s = r.second;
        add(`${label}: first up`, round(f.wallMs / 1000, 1), "s", `\`pulumi up --yes --skip-preview\` of a new stack (file:// backend) from fork to exit: ${f.counts.created} created, ${f.backups} backups, ${f.throttled429} × 429; emulator in its own process, limit ${VAULT_LIMIT.operations}/${VAULT_LIMIT.windowMs / 1000} s, +${BULK_LATENCY_MS} ms per call; checkpoint ${f.checkpointBytes} bytes after`);
        add(`${label}: engine CPU per resource, first up`, round(f.engineCpuMs / r.secrets, 2), "ms", `${f.engineCpuMs} ms (${f.engineUserMs} user, ${f.engineSystemMs} system) / ${r.secrets} secrets; ${cpuMethod}`);
        add(`${label}: children's CPU, first up`, f.waitedChildrenCpuMs, "ms", `cutime+cstime of the pulumi process (the children it waited for: language host with the program, provider host); sampled every ${c.sampleMs} ms (lower bound): ${Object.entries(f.sampledChildrenCpuMs).map(([k, v]) => `${k} ${v}`).join(", ")} ms; wait4 rusage of the whole tree ${f.rusageCpuMs} ms`);
        add(`${label}: engine peak memory`, f.enginePeakMemoryMiB, "MiB", `VmHWM of the pulumi process, last sample before it exited (every ${c.sampleMs} ms)`);
        add(`${label}: second up (nothing due)`, round(s.wallMs / 1000, 1), "s", `the same command again with --expect-no-changes: ${s.counts.unchanged} unchanged, ${s.backups} backups; engine CPU ${s.engineCpuMs} ms (${round(s.engineCpuMs / r.secrets, 2)} ms per resource), children ${s.waitedChildrenCpuMs} ms`);
    }
    const growth = (skip: boolean, parallel: number | undefined): void => {
        const same = c.runs.filter((r) => r.plan.skipCheckpoints === skip && r.plan.parallel === parallel).sort((a, b) => a.secrets - b.secrets);
        if (same.length < 2) return;
        const [small, large] = [same[0], same[same.length - 1]];
        const n = large.secrets / small.secrets;
        const tag = `${skip ? "PULUMI_SKIP_CHECKPOINTS" : "checkpoints on"}, --parallel ${parallel ?? "default"}`;
        add(`CLI ${small.secrets} → ${large.secrets} secrets, ${tag}: first up wall time growth over linear`, round(large.first.wallMs / small.first.wallMs / n, 2), "x", `(${round(large.first.wallMs / 1000, 1)} s / ${round(small.first.wallMs / 1000, 1)} s) / ${round(n, 2)}: 1 is linear`);
        add(`CLI ${small.secrets} → ${large.secrets} secrets, ${tag}: engine CPU growth over linear`, round(large.first.engineCpuMs / small.first.engineCpuMs / n, 2), "x", `(${large.first.engineCpuMs} / ${small.first.engineCpuMs} ms) / ${round(n, 2)}`);
    };
    for (const parallel of new Set(c.runs.map((r) => r.plan.parallel))) for (const skip of [false, true]) growth(skip, parallel);
    for (const on of c.runs.filter((r) => !r.plan.skipCheckpoints)) {
        const off = c.runs.find((r) => r.plan.skipCheckpoints && r.plan.vault === on.plan.vault && r.plan.parallel === on.plan.parallel);
        if (!off) continue;
        add(`CLI ${on.secrets} secrets, --parallel ${on.plan.parallel ?? "default"}: what checkpoints cost, first up`, round((on.first.wallMs - off.first.wallMs) / 1000, 1), "s", `wall time with checkpoints (${round(on.first.wallMs / 1000, 1)} s) − with PULUMI_SKIP_CHECKPOINTS=true (${round(off.first.wallMs / 1000, 1)} s); engine CPU ${on.first.engineCpuMs} − ${off.first.engineCpuMs} = ${on.first.engineCpuMs - off.first.engineCpuMs} ms`);
    }
    if (c.error) add("CLI phase", "failed", "", c.error.slice(0, 300));
    return rows;
}
