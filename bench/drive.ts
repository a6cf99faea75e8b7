/**
 * Driving `SecretBackup`s through the real provider host the way `pulumi up` does for new
 * resources: the program runs under mocks to produce each resource's inputs (with the serialized
 * `__provider`), then each goes Check -> Create over gRPC, with at most `parallel` in flight.
 */
import { isDeepStrictEqual } from "node:util";
import { SecretBackup } from "../provider/resource";
import { ProviderHost } from "../scripts/harness/host";
import { runProgram } from "../scripts/harness/program";
import { stripSecrets, type PropertyMap } from "../scripts/harness/wire";
import type { RunningEmulator } from "../emulator";
import { PROJECT, hostEnv, repoRoot } from "./setup";
import { SecretClient } from "@azure/keyvault-secrets";
import { azureNativeConfig, emulatorCredential, type EmulatorIdentity } from "../scripts/emulator-identity";

/** One resource to create: its URN and its inputs as the engine sends them (secrets stripped). */
export interface BackupJob {
    urn: string;
    inputs: PropertyMap;
}

/** Runs a program declaring one `SecretBackup` per name and returns the registrations as jobs. */
export async function backupJobs(vaultUrl: string, names: string[], destination: string, stack: string): Promise<BackupJob[]> {
    const run = await runProgram(
        () => {
            for (const name of names) new SecretBackup(name, { vaultUrl, secretName: name, destination });
        },
        { project: PROJECT, stack, config: {}, preview: false, register: async (reg) => ({ id: `${reg.name}-id`, state: reg.inputs }) },
    );
    return run.registrations
        .filter((r) => r.type === "pulumi-nodejs:dynamic/keyvault:SecretBackup")
        .map((r) => ({ urn: r.urn, inputs: stripSecrets(r.inputs) }));
}

/**
 * The jobs of that program for many names without running it for every one (under mocks it costs
 * ~15 ms per resource in this process: the language host's work, not the provider's). The program
 * runs for the first two names; the rest are the first with its name and URN replaced, and the
 * second proves that replacing gives exactly what the program registers.
 */
export async function manyBackupJobs(vaultUrl: string, names: string[], destination: string, stack: string): Promise<BackupJob[]> {
    const sample = await backupJobs(vaultUrl, names.slice(0, 2), destination, stack);
    const like = (name: string): BackupJob => ({
        urn: sample[0].urn.replace(/::[^:]+$/, `::${name}`),
        inputs: { ...sample[0].inputs, secretName: name },
    });
    if (sample.length !== Math.min(2, names.length) || (sample[1] && !isDeepStrictEqual(like(names[1]), sample[1]))) {
        throw new Error("derived SecretBackup inputs differ from what the program registers; run the program for every name instead");
    }
    return names.map(like);
}

/**
 * The jobs as `VaultBackup` registers its children: each with its secret's `updated` time from a
 * real listing of the vault (made before the run's limit windows start, so it does not count).
 */
export async function asVaultBackupChildren(emulator: EmulatorIdentity, vaultUrl: string, jobs: BackupJob[]): Promise<BackupJob[]> {
    const client = new SecretClient(vaultUrl, emulatorCredential(emulator), { disableChallengeResourceVerification: true });
    const updated = new Map<string, string>();
    for await (const p of client.listPropertiesOfSecrets()) if (p.updatedOn) updated.set(p.name, p.updatedOn.toISOString());
    return jobs.map((job) => {
        const listed = updated.get(String(job.inputs.secretName));
        if (!listed) throw new Error(`the vault ${vaultUrl} does not list ${String(job.inputs.secretName)}`);
        return { ...job, inputs: { ...job.inputs, sourceUpdatedOn: listed } };
    });
}

/** What a host needs to know of the emulator: who to sign in as, where, and the CA to trust. */
export type EmulatorAccess = Pick<RunningEmulator, "tenantId" | "principals" | "authorityHost" | "caCertPath">;

/**
 * Starts a host in `projectRoot` (as `pulumi up` would in the project) and configures it for the
 * emulator, plus `extraConfig`; `extraEnv` is added to the host's environment (e.g. a CPU profile).
 */
export async function startHost(emulator: EmulatorAccess, projectRoot = repoRoot, extraConfig: Record<string, string> = {}, extraEnv: Record<string, string> = {}): Promise<ProviderHost> {
    const config = azureNativeConfig(emulator, 0, extraConfig);
    const host = await ProviderHost.start({ projectRoot, project: PROJECT, config, env: { ...hostEnv(emulator), ...extraEnv } });
    try {
        await host.configure(config);
        return host;
    } catch (e) {
        await host.stop();
        throw e;
    }
}

/** Check then Create, as the engine does for a new resource; throws on check failures or a failed create. */
export async function createThroughHost(host: ProviderHost, job: BackupJob): Promise<PropertyMap> {
    const checked = await host.check(job.urn, {}, job.inputs);
    if (checked.failures.length) {
        throw new Error(`${job.urn}: check failed: ${checked.failures.map((f) => `${f.property}: ${f.reason}`).join("; ")}`);
    }
    return (await host.create(job.urn, checked.inputs)).outs;
}

/** What a batch of creates did: per-job durations (ms) of the ones that succeeded, and the failures' messages. */
export interface BatchResult {
    elapsedMs: number;
    durationsMs: number[];
    failures: string[];
}

/** Creates every job through `host` with at most `parallel` in flight (the engine's `--parallel`). */
export async function createAll(host: ProviderHost, jobs: BackupJob[], parallel: number): Promise<BatchResult> {
    const durationsMs: number[] = [];
    const failures: string[] = [];
    let next = 0;
    const worker = async (): Promise<void> => {
        while (next < jobs.length) {
            const job = jobs[next++];
            const start = performance.now();
            try {
                await createThroughHost(host, job);
                durationsMs.push(performance.now() - start);
            } catch (e) {
                failures.push((e as Error).message);
            }
        }
    };
    const start = performance.now();
    await Promise.all(Array.from({ length: Math.min(parallel, jobs.length) }, worker));
    return { elapsedMs: performance.now() - start, durationsMs, failures };
}
