/**
 * Shared pieces of the reliability suite: the tally the final summary prints, the watch list of
 * secret material the leak search looks for (and the texts it searches), stacks of `SecretBackup`s
 * run through the real provider host, and small file-system checks.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { createHash } from "node:crypto";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { RunningEmulator } from "../../emulator";
import { SecretBackup, type SecretBackupArgs } from "../../provider/resource";
import { LocalEngine, childPids, type OperationResult, type ResourceState } from "../helpers/host";
import { azureNativeConfig, credentialFor, uniqueName } from "../helpers/emulator";
import { repoRoot } from "../helpers/paths";

/** The `SecretBackup` type token as it appears in state. */
export const BACKUP_TYPE = "pulumi-nodejs:dynamic/keyvault:SecretBackup";

/** The figures the suite's summary table prints; each test file adds its own. */
export const tally = {
    badInputsTried: 0,
    badInputsRefused: 0,
    faults: [] as { name: string; outcome: "backup verified" | "clean failure" }[],
    load: undefined as undefined | { requests: number; clients: number; ok: number; throttled: number; expectedThrottled: number; wrong: number; seconds: number; heapGrowthMb: number },
    concurrency: undefined as undefined | { backups: number; distinctFiles: number; verified: number; maxInFlight: number; seconds: number },
    leaks: undefined as undefined | { needles: number; texts: number; bytes: number; found: number },
};

/** Secret material that must never show up anywhere (label -> value). */
const needles = new Map<string, string>();
/** Everything a user or an attacker could see: state, outputs, logs, errors, providers, file names. */
const texts: { where: string; text: string }[] = [];

/** Adds secret material the leak search must not find (short strings are ignored: they match by chance). */
export function watchSecret(label: string, value: string | undefined): void {
    if (value && value.length >= 8) needles.set(`${label}#${needles.size}`, value);
}

/** Adds a text the leak search looks through. */
export function exposeText(where: string, text: string | undefined): void {
    if (text) texts.push({ where, text });
}

/** Folders whose file names (at any depth) the leak search looks through. */
const folders = new Set<string>();

/** Adds a folder whose file names the leak search looks through. */
export function watchFolder(folder: string): void {
    folders.add(folder);
}

/** Every watched value, exposed text and watched folder, for the leak search. */
export function leakCorpus(): { needles: Map<string, string>; texts: { where: string; text: string }[]; folders: string[] } {
    return { needles, texts, folders: [...folders] };
}

/** Watches tokens for Key Vault and Storage fetched with principal 0's credential (the one the provider uses). */
export async function watchTokens(emulator: RunningEmulator): Promise<void> {
    const credential = credentialFor(emulator);
    for (const scope of ["https://vault.azure.net/.default", "https://storage.azure.com/.default"]) {
        watchSecret(`token for ${scope}`, (await credential.getToken(scope))?.token);
    }
}

/** Watches the emulator's client secrets, as every test file that starts one must. */
export function watchEmulator(emulator: RunningEmulator): void {
    for (const p of emulator.principals) watchSecret(`client secret of ${p.clientId}`, p.clientSecret);
}

/** Hex SHA-256 of a file. */
export function sha256File(file: string): string {
    return createHash("sha256").update(fs.readFileSync(file)).digest("hex");
}

/** Every file in `folder` (hidden and temporary ones included), sorted; [] when it does not exist. */
export function filesIn(folder: string): string[] {
    return fs.existsSync(folder) ? fs.readdirSync(folder).sort() : [];
}

/** File name -> SHA-256 of every file in `folder`: taken before and after a fault to prove nothing changed. */
export function hashes(folder: string): Record<string, string> {
    const out: Record<string, string> = {};
    for (const f of filesIn(folder)) out[f] = sha256File(path.join(folder, f));
    return out;
}

/** One backup a test stack declares: the resource name and its inputs. */
export interface BackupSpec {
    name: string;
    args: SecretBackupArgs;
}

/**
 * A stack whose program declares one `SecretBackup` per entry of `specs` (read at every run, so a
 * test may change them between runs), with principal `principal`'s credentials in the
 * `azure-native:*` config, state in `statePath` when given. Every run's texts go to the leak search.
 */
export function backupStack(emulator: RunningEmulator, specs: BackupSpec[], options: { principal?: number; statePath?: string; env?: Record<string, string> } = {}): WatchedStack {
    const stack = new LocalEngine({
        projectRoot: repoRoot,
        project: "reliability",
        stack: uniqueName("st"),
        program: () => {
            const exports: Record<string, unknown> = {};
            for (const s of specs) {
                const b = new SecretBackup(s.name, s.args);
                exports[s.name] = b.location;
            }
            return exports;
        },
        config: azureNativeConfig(emulator, options.principal ?? 0),
        secretKeys: ["azure-native:clientSecret"],
        env: { AZURE_AUTHORITY_HOST: emulator.authorityHost, ...options.env },
        statePath: options.statePath,
    });
    return new WatchedStack(stack);
}

/** A `LocalEngine` whose every result (state, exports, host logs, error) is exposed to the leak search. */
export class WatchedStack {
    constructor(readonly stack: LocalEngine) {}

    /** `pulumi up`. */
    async up(): Promise<OperationResult> {
        return this.expose("up", await this.stack.up());
    }

    /** `pulumi preview`. */
    async preview(): Promise<OperationResult> {
        return this.expose("preview", await this.stack.preview());
    }

    /** The `SecretBackup` resources in state. */
    backups(): ResourceState[] {
        return this.stack.state.resources.filter((r) => r.type === BACKUP_TYPE);
    }

    private expose(op: string, result: OperationResult): OperationResult {
        exposeText(`${op}: state`, JSON.stringify(this.stack.state));
        exposeText(`${op}: exports`, JSON.stringify(result.exports));
        exposeText(`${op}: host stdout`, result.hostStdout);
        exposeText(`${op}: host stderr`, result.hostStderr);
        exposeText(`${op}: error`, result.error);
        return result;
    }
}

/** The path of a backup's `file://` location. */
export function locationFile(state: ResourceState): string {
    return fileURLToPath(String(state.outputs.location));
}

/**
 * Asserts-free check that a backup in state is complete: its file exists and hashes to the
 * state's sha256. Returns the reason when it is not.
 */
export function backupProblem(state: ResourceState): string | undefined {
    const file = locationFile(state);
    if (!fs.existsSync(file)) return `${file} does not exist`;
    const hash = sha256File(file);
    return hash === state.outputs.sha256 ? undefined : `${file} hashes to ${hash}, state says ${String(state.outputs.sha256)}`;
}

/**
 * Makes `folder` unwritable for this process: mode 0500, and immutable (`chattr +i`) when running
 * as root, which ignores modes. Returns the undo, or undefined (folder left as it was) when this
 * machine cannot do it (root without the immutable attribute).
 */
export function makeUnwritable(folder: string): (() => void) | undefined {
    const mode = fs.statSync(folder).mode & 0o777;
    const root = process.getuid?.() === 0;
    fs.chmodSync(folder, 0o500);
    if (root) spawnSync("chattr", ["+i", folder]);
    const undo = (): void => {
        if (root) spawnSync("chattr", ["-i", folder]);
        fs.chmodSync(folder, mode);
    };
    try {
        fs.accessSync(folder, fs.constants.W_OK);
    } catch {
        return undo;
    }
    undo();
    return undefined;
}

/** Polls `condition` until it holds; throws naming `what` after `timeoutMs` (shared with the harness tests). */
export { waitFor } from "../helpers/host";

/**
 * Pids of the dynamic-provider hosts this process started (its children running the host entry
 * point), read from /proc: how a test finds the host `LocalEngine` started, to kill it.
 */
export function providerHostPids(): number[] {
    return childPids(process.pid, path.join("dynamic-provider", "index.js"));
}
