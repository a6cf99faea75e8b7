/**
 * What `SecretBackup`'s provider does, loaded inside the Pulumi provider host by `provider.ts`.
 * Inputs and results are plain JSON (no `undefined`, no secret, no blob), so the host can encode
 * them. Credentials and clients live in this module's memory for the life of the host process;
 * `configure` sets them from the stack configuration.
 */
import * as pulumi from "@pulumi/pulumi";
import type { TokenCredential } from "@azure/identity";
import { configValue, createCredential, credentialSettings, type ConfigSource, type CredentialSettings } from "./credentials";
import { VaultClients, defaultVaultClientSettings, type VaultClientSettings } from "./vault-client";
import { destinationProblem, isBlobDestination, openDestination } from "./destinations";
import { sha256Hex } from "./destinations/destination";
import {
    DEFAULT_DESTINATION, changedInputs, inputFailures, isUnknown, normalizeInputs,
    type BackupInputs, type InputFailure,
} from "./validate";

/** The state of one backup: the inputs it was taken with plus what it produced. */
export type BackupOutputs = BackupInputs & {
    /** Hex SHA-256 of the blob; "" after `read` found the stored blob missing or changed. */
    sha256: string;
    /** `file://` or `https://` URL of the stored blob. */
    location: string;
    sizeBytes: number;
    /** When the backup was taken (this machine's clock, right after Key Vault answered), ISO 8601 UTC. */
    backedUpAt: string;
    /** Key Vault's `x-ms-request-id` of the Backup Secret call. */
    requestId: string;
};

/** The stack config key that sets the per-vault pacing (operations per 10 seconds). */
export const PACING_CONFIG_KEY = "secret-backup:vaultOperationsPer10Seconds";

let credentialConfig: CredentialSettings = {};
let credential: TokenCredential | undefined;
let vaults: VaultClients | undefined;
let clientSettings: VaultClientSettings = defaultVaultClientSettings();

/**
 * Reads the `azure-native:*` credential settings and the pacing from the stack config (the
 * environment fills gaps) and drops clients built from earlier settings. `overrides` lets tests
 * shorten waits; production passes none. Throws, naming the key, when the pacing is set but is
 * not a positive number (a typo must not silently fall back to the default).
 */
export function configure(config: ConfigSource | undefined, overrides: Partial<VaultClientSettings> = {}): void {
    credentialConfig = credentialSettings(config);
    const raw = configValue(config, PACING_CONFIG_KEY);
    const pacing = Number(raw);
    if (raw !== undefined && !(pacing > 0 && Number.isFinite(pacing))) {
        throw new Error(`stack config ${PACING_CONFIG_KEY} must be a positive number of operations per 10 seconds, not ${JSON.stringify(raw)}`);
    }
    clientSettings = { ...defaultVaultClientSettings(), ...(raw !== undefined ? { operationsPer10Seconds: pacing } : {}), ...overrides };
    credential = undefined;
    vaults = undefined;
}

/** Validates `news` without calling anything remote: failures per property, normalised inputs. */
export async function check(_olds: Record<string, unknown>, news: Record<string, unknown>): Promise<{ inputs: Record<string, unknown>; failures: InputFailure[] }> {
    const failures = inputFailures(news);
    // The default folder is checked too: a file in its place would otherwise fail only after the vault call.
    const destination = news.destination ?? DEFAULT_DESTINATION;
    if (typeof destination === "string" && !isUnknown(destination) && !failures.some((f) => f.property === "destination")) {
        const reason = await destinationProblem(destination);
        if (reason) failures.push({ property: "destination", reason });
    }
    if (failures.length) return { inputs: news, failures };
    return { inputs: { ...normalizeInputs(news) }, failures };
}

/**
 * Whether a new backup is due: any backup input changed, or `read` found the stored blob gone
 * (state `sha256` is ""). Never a replacement: earlier backups are always kept.
 */
export async function diff(_id: string, olds: Record<string, unknown>, news: Record<string, unknown>): Promise<{ changes: boolean; replaces: string[]; changedKeys: string[] }> {
    const changed: string[] = changedInputs(normalizeInputs(olds), normalizeInputs(news));
    if (olds.sha256 === "") changed.push("sha256");
    return { changes: changed.length > 0, replaces: [], changedKeys: changed };
}

/** Takes the first backup. Throws, leaving nothing written, when the vault or the write fails. */
export async function create(news: Record<string, unknown>): Promise<{ id: string; outs: BackupOutputs }> {
    const outs = await takeBackup(news);
    return { id: outs.location, outs };
}

/** Takes a new backup to a new file; the earlier backup stays where it is. */
export async function update(_id: string, olds: Record<string, unknown>, news: Record<string, unknown>): Promise<{ outs: BackupOutputs }> {
    const earlier = typeof olds.location === "string" && olds.location ? olds.location : undefined;
    return { outs: await takeBackup(news, earlier) };
}

/**
 * Checks that the stored blob still exists and hashes to `sha256`. On drift it warns and returns
 * the state with `sha256` set to "", which `diff` treats as a change, so the next `pulumi up`
 * takes a fresh backup.
 */
export async function read(id: string, props: Record<string, unknown>): Promise<{ id: string; props: Record<string, unknown> }> {
    const { location, sha256, destination } = props;
    if (typeof location !== "string" || typeof sha256 !== "string" || sha256 === "") return { id, props };
    const where = String(destination ?? location);
    // A folder needs no credential: refresh of file backups works even without Azure sign-in.
    const stored = await openDestination(where, isBlobDestination(where) ? { credential: getCredential() } : {}).verify(location, sha256);
    if (stored === "ok") return { id, props };
    pulumi.log.warn(`backup of secret "${String(props.secretName)}" at ${location} is ${stored === "missing" ? "missing" : "changed (hash differs)"}; the next update takes a fresh backup`);
    return { id, props: { ...props, sha256: "" } };
}

/** Forgets the resource; backup files outlive it, which the log says. */
export async function remove(_id: string, props: Record<string, unknown>): Promise<void> {
    const where = typeof props.location === "string" && props.location ? props.location : "its destination";
    pulumi.log.info(`SecretBackup of secret "${String(props.secretName)}" removed from the stack; its backup stays at ${where}`);
}
export { remove as delete };

async function takeBackup(news: Record<string, unknown>, earlierLocation?: string): Promise<BackupOutputs> {
    const failures = inputFailures(news);
    if (failures.length) throw new Error(`invalid SecretBackup inputs:\n${failures.map((f) => `  ${f.property}: ${f.reason}`).join("\n")}`);
    const inputs = normalizeInputs(news);
    const destination = openDestination(inputs.destination, { credential: getCredential() });
    const { blob, requestId } = await getVaults().backupSecret(inputs.vaultUrl, inputs.secretName, inputs.apiVersion);
    const record = { vaultUrl: inputs.vaultUrl, secretName: inputs.secretName, backedUpAt: new Date().toISOString(), sha256: sha256Hex(blob), sizeBytes: blob.length };
    let location: string;
    try {
        location = await destination.write(blob, record);
    } catch (error) {
        throw new Error(
            `writing the backup of secret "${inputs.secretName}" from vault ${inputs.vaultUrl} to ${inputs.destination} failed: ${(error as Error).message}\n` +
            `What to do: make sure the destination exists, is writable and has space, then run again; nothing was written.`,
        );
    }
    const kept = earlierLocation ? `; the earlier backup stays at ${earlierLocation}` : "";
    pulumi.log.info(`backed up secret "${inputs.secretName}": ${record.sizeBytes} bytes, sha256 ${record.sha256.slice(0, 12)}, to ${location}${kept}`);
    return { ...inputs, triggers: plainJson(inputs.triggers), ...record, location, requestId };
}

function getCredential(): TokenCredential {
    credential ??= createCredential(credentialConfig);
    return credential;
}

function getVaults(): VaultClients {
    vaults ??= new VaultClients(getCredential, clientSettings);
    return vaults;
}

// Protobuf cannot encode undefined; JSON turns it into null inside lists.
function plainJson(value: unknown[]): unknown[] {
    return JSON.parse(JSON.stringify(value)) as unknown[];
}
