/**
 * CPU profiles of the provider host and the emulator during a bulk run (V8's sampling profiler, as
 * `node --cpu-prof` runs it), and
 * their breakdown into the parts issue 14 names: gRPC and struct conversion, the Azure SDK
 * pipeline, TLS, token handling, the file write (write + fsync + link + read-back hash), logging.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { repoRoot } from "./setup";
import { BULK_LATENCY_MS, measureBulk, type BulkPlan } from "./bulk";
import { startEmulatorProcess } from "./emulator-process";
import { round } from "./stats";

/**
 * The environment that makes a Node child profile itself from SIGUSR2 on and write the profile
 * into `dir` when it is stopped with SIGTERM (see `cpu-profile-preload.ts`).
 */
export function cpuProfileEnv(dir: string): Record<string, string> {
    fs.mkdirSync(dir, { recursive: true });
    const preload = path.join(repoRoot, "dist", "bench", "cpu-profile-preload.js");
    return { NODE_OPTIONS: `--require ${preload}`, BENCH_CPU_PROFILE_DIR: dir };
}

/** One part of a profile: its share of the sampled CPU time, and that time in ms. */
export interface ProfilePart {
    part: string;
    ms: number;
    percent: number;
}

interface ProfileNode {
    id: number;
    callFrame: { functionName: string; url: string };
    children?: number[];
}
interface CpuProfile {
    nodes: ProfileNode[];
    samples: number[];
    timeDeltas: number[];
}

/** Parts that own everything below them, whatever it calls (jose's AES under the backup codec is the backup's encryption). */
const STACK_RULES: { part: string; test: (url: string) => boolean }[] = [
    { part: "backup encryption (JWE, emulator)", test: (u) => /emulator\/backup-codec\.js/.test(u) },
    { part: "token handling (MSAL, identity, JWT sign/verify)", test: (u) => /emulator\/(entra|auth)\.js|@azure\/identity|@azure\/msal/.test(u) },
    { part: "file write + fsync + link + read-back hash", test: (u) => /destinations\/file\.js/.test(u) },
    { part: "logging", test: (u) => /@pulumi\/pulumi\/log\//.test(u) },
];

/**
 * Otherwise the parts, tried from a sample's leaf frame toward the root: the first rule that matches a
 * frame names the part (so a `writev` under TLS counts as TLS, `fs` work under the file
 * destination as the file write). Samples no rule matches count as "other JavaScript".
 */
const RULES: { part: string; test: (url: string, fn: string) => boolean }[] = [
    { part: "garbage collection", test: (_u, f) => f === "(garbage collector)" },
    { part: "idle", test: (_u, f) => f === "(idle)" },
    { part: "logging", test: (u) => /@pulumi\/pulumi\/log\/|node:internal\/console/.test(u) },
    { part: "file write + fsync + link + read-back hash", test: (u) => /destinations\/file\.js|node:internal\/fs\/|node:fs$/.test(u) },
    { part: "token handling (MSAL, identity, JWT sign/verify)", test: (u) => /@azure\/identity|@azure\/msal|\/jose\/.*(jws|jwt|verify|sign)|emulator\/(entra|auth)\.js|bearerTokenAuthenticationPolicy|keyVaultAuthenticationPolicy|challengeBasedAuthenticationPolicy/.test(u) },
    // Other jose code is the emulator's JWE (its async steps run without the codec's frame on the stack).
    { part: "backup encryption (JWE, emulator)", test: (u) => /emulator\/backup-codec\.js|\/jose\//.test(u) },
    { part: "TLS", test: (u) => /node:_tls_|node:tls$|node:internal\/tls\//.test(u) }, // and HTTPS socket writes, above
    { part: "HTTP (node:http, undici)", test: (u) => /node:_http_|node:http$|node:https$|undici/.test(u) },
    { part: "Azure SDK pipeline", test: (u) => /@azure\/|@typespec\//.test(u) },
    { part: "gRPC, protobuf and struct conversion", test: (u) => /@grpc\/|google-protobuf|@pulumi\/pulumi\/(proto|runtime|cmd|provider)|scripts\/harness\/(wire|host)\.js/.test(u) },
    { part: "emulator request handling", test: (u) => /\/emulator\//.test(u) },
    { part: "provider code", test: (u) => /\/provider\//.test(u) && (!/node_modules/.test(u) || /node_modules\/pulumi-keyvault-backup\//.test(u)) },
    { part: "module loading", test: (u) => /node:internal\/modules\//.test(u) },
    { part: "native / program (syscalls, crypto, libuv)", test: (_u, f) => f === "(program)" },
];

/** The breakdown of the `.cpuprofile` file `file`, largest part first (idle left out). */
export function profileBreakdown(file: string): ProfilePart[] {
    const profile = JSON.parse(fs.readFileSync(file, "utf8")) as CpuProfile;
    const parent = new Map<number, number>();
    const byId = new Map<number, ProfileNode>();
    for (const n of profile.nodes) {
        byId.set(n.id, n);
        for (const c of n.children ?? []) parent.set(c, n.id);
    }
    const partOf = new Map<number, string>();
    const classify = (id: number): string => {
        const known = partOf.get(id);
        if (known) return known;
        let part = "other JavaScript";
        // A native socket write under node:http(s) is where TLS encrypts (all HTTP here is HTTPS).
        if (/^(writeLatin1String|writeUtf8String|writeBuffer|writev|writevGeneric)$/.test(byId.get(id)!.callFrame.functionName)) {
            for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
                if (/node:_http_(outgoing|server|client)/.test(byId.get(at)!.callFrame.url)) {
                    partOf.set(id, "TLS");
                    return "TLS";
                }
            }
        }
        for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
            const { url } = byId.get(at)!.callFrame;
            const rule = STACK_RULES.find((r) => r.test(url));
            if (rule) {
                partOf.set(id, rule.part);
                return rule.part;
            }
        }
        for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
            const { url, functionName } = byId.get(at)!.callFrame;
            const rule = RULES.find((r) => r.test(url, functionName));
            if (rule) {
                part = rule.part;
                break;
            }
        }
        partOf.set(id, part);
        return part;
    };
    const totals = new Map<string, number>();
    profile.samples.forEach((id, i) => {
        const part = classify(id);
        totals.set(part, (totals.get(part) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
    });
    totals.delete("idle");
    const all = [...totals.values()].reduce((a, b) => a + b, 0);
    return [...totals.entries()]
        .map(([part, ms]) => ({ part, ms: round(ms, 0), percent: round((ms / all) * 100, 1) }))
        .sort((a, b) => b.ms - a.ms);
}

/** The newest `.cpuprofile` file in `dir` (a process writes one when it exits). */
export function newestProfile(dir: string): string {
    const files = fs.readdirSync(dir).filter((f) => f.endsWith(".cpuprofile")).map((f) => path.join(dir, f));
    if (!files.length) throw new Error(`no .cpuprofile in ${dir}: the profiled process did not exit normally`);
    return files.sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs)[0];
}

/** The functions with the most self time in a profile (for reading it, not for the table). */
export function topFunctions(file: string, count = 25): { fn: string; ms: number }[] {
    const profile = JSON.parse(fs.readFileSync(file, "utf8")) as CpuProfile;
    const byId = new Map(profile.nodes.map((n) => [n.id, n]));
    const self = new Map<string, number>();
    profile.samples.forEach((id, i) => {
        const { functionName, url } = byId.get(id)!.callFrame;
        const key = `${functionName || "(anonymous)"} ${url.replace(/^.*node_modules\//, "").replace(repoRoot, ".")}`;
        self.set(key, (self.get(key) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
    });
    return [...self.entries()].map(([fn, ms]) => ({ fn, ms: round(ms, 0) })).sort((a, b) => b.ms - a.ms).slice(0, count);
}

/** The two breakdowns of one profiled bulk run, and where the profiles are. */
export interface ProfileResult {
    plan: string;
    host: ProfilePart[];
    emulator: ProfilePart[];
    hostTop: { fn: string; ms: number }[];
    emulatorTop: { fn: string; ms: number }[];
    files: { host: string; emulator: string };
}

/**
 * Runs `plan` with the host and a separate emulator process both profiled over the measured part
 * (profiling slows them, so this run's own figures are not reported), then reads both profiles.
 */
export async function measureProfile(plan: BulkPlan, dir: string): Promise<ProfileResult> {
    fs.rmSync(dir, { recursive: true, force: true });
    const hostDir = path.join(dir, "host");
    const emulatorDir = path.join(dir, "emulator");
    const emulator = await startEmulatorProcess(cpuProfileEnv(emulatorDir));
    try {
        const run = await measureBulk(emulator, plan, cpuProfileEnv(hostDir), true);
        if (run.failures.length) throw new Error(`the profiled run had ${run.failures.length} failures, e.g. ${run.failures[0]}`);
    } finally {
        await emulator.close();
    }
    const files = { host: newestProfile(hostDir), emulator: newestProfile(emulatorDir) };
    return {
        plan: `${plan.secrets} backups, ${plan.parallel} in flight, +${plan.latencyMs ?? BULK_LATENCY_MS} ms per call`,
        host: profileBreakdown(files.host),
        emulator: profileBreakdown(files.emulator),
        hostTop: topFunctions(files.host),
        emulatorTop: topFunctions(files.emulator),
        files: { host: path.relative(repoRoot, files.host), emulator: path.relative(repoRoot, files.emulator) },
    };
}
