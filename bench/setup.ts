/**
 * The bench's fixed world: where it works, its CA, the emulator it starts (seeded with the same
 * secrets on every run) and the stack configuration a provider host gets to reach it.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { loadOrCreateCa } from "../emulator/tls";
import { SERVICE_LIMITS } from "../emulator/faults";
import { startEmulator, type RunningEmulator, type Seed } from "../emulator";
import { seededRandom } from "./stats";

/** The repository root (from compiled `dist/bench`). */
export const repoRoot = path.resolve(__dirname, "..", "..");
/** The bench's scratch folder (ignored by git); emptied at the start of every run. */
export const scratchDir = path.join(repoRoot, ".cache", "bench");
/** The bench's own CA, kept across runs; `NODE_EXTRA_CA_CERTS` points at its `ca.pem`. */
export const caDir = path.join(repoRoot, ".cache", "bench-ca");
/** The Pulumi project name the hosts run under. */
export const PROJECT = "keyvault-backup-bench";
/** The seed of the secret values' generator. */
export const VALUE_SEED = 20261127;

/**
 * The vaults and how many secrets each holds; names are `s-0000`, `s-0001`, ... A new vault goes
 * last: the values come from one generator in this order, so the earlier vaults keep theirs.
 */
export const VAULTS = { latency: 260, compare: 50, bulk16: 1016, bulk64: 1016, bulk5000: 5016, paced: 516, bulk2500: 2516 } as const;
/** The name of one of the bench's vaults. */
export type BenchVault = keyof typeof VAULTS;

/** The `i`-th secret name of a vault. */
export function secretName(i: number): string {
    return `s-${String(i).padStart(4, "0")}`;
}

/** Names `from` .. `from + count - 1`. */
export function secretNames(from: number, count: number): string[] {
    return Array.from({ length: count }, (_, i) => secretName(from + i));
}

/** Every vault seeded with its secrets; values are 48 random characters from the fixed seed. */
export function benchSeed(): Seed {
    const random = seededRandom(VALUE_SEED);
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const value = (): string => Array.from({ length: 48 }, () => alphabet[Math.floor(random() * alphabet.length)]).join("");
    const vaults: NonNullable<Seed["vaults"]> = {};
    for (const [vault, count] of Object.entries(VAULTS)) {
        vaults[vault] = { secrets: Object.fromEntries(secretNames(0, count).map((n) => [n, value()])) };
    }
    return { vaults };
}

/** Makes (once) and returns the bench CA's files. */
export async function benchCa(): Promise<{ caCertPath: string; caKeyPath: string }> {
    const ca = await loadOrCreateCa(caDir);
    return { caCertPath: ca.caCertPath, caKeyPath: ca.caKeyPath };
}

/** Starts the emulator with Key Vault's real limits (4,000 operations per 10 s per vault) and no added latency yet. */
export async function startBenchEmulator(): Promise<RunningEmulator> {
    return startEmulator({ seed: benchSeed(), tls: await benchCa(), throttle: SERVICE_LIMITS });
}

/** The host's extra environment: the emulator's authority, and the CA to trust (TLS stays verified). */
export function hostEnv(emulator: Pick<RunningEmulator, "authorityHost" | "caCertPath">): Record<string, string> {
    return { AZURE_AUTHORITY_HOST: emulator.authorityHost, NODE_EXTRA_CA_CERTS: emulator.caCertPath };
}

/** A new empty folder under the scratch folder. */
export function freshFolder(name: string): string {
    const dir = path.join(scratchDir, name);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    return dir;
}
