/**
 * The provider host's own cost: Check+Create of the bulk run's resources through the real host,
 * with their `__provider` pointed at `null-operations.ts` (answers at once: no vault call, no
 * file). What `@pulumi/pulumi`'s dynamic-provider host spends per resource (gRPC, protobuf and
 * struct conversion, loading the serialized provider's closures, GC) whatever the provider does.
 */
import * as path from "node:path";
import { createAll, manyBackupJobs, startHost } from "./drive";
import type { EmulatorProcess } from "./emulator-process";
import { BULK_WARMUP, withProvider, type InstalledRun } from "./bulk";
import { repoRoot, secretNames } from "./setup";
import { cpuSpent, cpuSplit, lowerMedian, round } from "./stats";

/** The host's CPU per Check+Create with a provider that does nothing: the median of `FLOOR_RUNS` runs. */
export interface FloorResult {
    /** "installed": the installed package's short `__provider`; "checkout": this checkout's longer one. */
    form: "installed" | "checkout";
    /** The `__provider` text's size, bytes. */
    providerBytes: number;
    secrets: number;
    parallel: number;
    hostCpuMs: number;
    mainThreadCpuMs: number;
    /** Every run's host CPU per resource, ms. */
    runs: number[];
}

const FLOOR_RUNS = 3;

/**
 * `secrets` resources at `parallel` in flight, after `BULK_WARMUP` unmeasured, `FLOOR_RUNS` times
 * with a new host each: with `installed`, in its project with its `__provider`; else from this checkout.
 * Either `__provider` is pointed at `null-operations.js` by replacing the module it names.
 */
export async function measureFloor(emulator: EmulatorProcess, installed?: InstalledRun, secrets = 1000, parallel = 64): Promise<FloorResult> {
    const nothing = path.join(repoRoot, "dist", "bench", "null-operations.js");
    const plain = await manyBackupJobs(emulator.vaults.bulk64, secretNames(0, BULK_WARMUP + secrets), path.join(repoRoot, ".cache", "bench", "floor"), "bulk64");
    const [text, names] = installed ? [installed.providerText, "pulumi-keyvault-backup/dist/provider/dynamic.js"] : [String(plain[0].inputs.__provider), "./dist/provider/operations"];
    if (!text.includes(names)) throw new Error(`the serialized provider does not name ${names}`);
    const jobs = withProvider(plain, text.replace(names, nothing));
    const runs: Array<{ host: number; main: number }> = [];
    for (let i = 0; i < FLOOR_RUNS; i++) {
        const host = await startHost(emulator, installed?.project);
        try {
            await createAll(host, jobs.slice(0, BULK_WARMUP), parallel);
            const before = cpuSplit(host.pid);
            const batch = await createAll(host, jobs.slice(BULK_WARMUP), parallel);
            if (batch.failures.length) throw new Error(`the floor run failed: ${batch.failures[0]}`);
            const spent = cpuSpent(before, cpuSplit(host.pid));
            runs.push({ host: spent.total / secrets, main: spent.main / secrets });
        } finally {
            await host.stop();
        }
    }
    const median = lowerMedian(runs, (r) => r.host);
    return { form: installed ? "installed" : "checkout", providerBytes: Buffer.byteLength(text), secrets, parallel, hostCpuMs: round(median.host, 2), mainThreadCpuMs: round(median.main, 2), runs: runs.map((r) => round(r.host, 2)) };
}
