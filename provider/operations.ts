/**
 * What the backup resources' provider does (`SecretBackup`, `KeyBackup`, `CertificateBackup`: the
 * kind is told by the inputs' name property, see `kinds.ts`, or by the provider plugin from its resource type), loaded inside the Pulumi provider host by `provider.ts`.
 * Inputs and results are plain JSON (no `undefined`, no secret, no blob), so the host can encode
 * them. Credentials and clients live in this module's memory for the life of the host process;
 * `configure` sets them from the stack configuration.
 */
import * as pulumi from "@pulumi/pulumi";
import type { TokenCredential } from "@azure/identity";
import { configValue, createCredential, credentialSettings, type ConfigSource, type CredentialSettings } from "./credentials";
import { VaultClients, defaultVaultClientSettings, throttlePauseMessage, type CurrentVersion, type VaultClientSettings } from "./vault-client";
import { VaultError, managedAdvice } from "./errors";
import { kindOfProps, type KindInfo } from "./kinds";
import { destinationProblem, isBlobDestination, openDestination } from "./destinations";
import { sha256Hex } from "./destinations/destination";
import {
    DEFAULT_DESTINATION, changedInputs, inputFailures, isUnknown, normalizeInputs,
    type ApiVersion, type BackupInputs, type InputFailure,
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
    /** The object's current version when the backup was taken (the backup holds it and every older one); "" when it could not be read, or was not listed (`sourceUpdatedOn` given) and no refresh has filled it in yet. */
    version: string;
    /** When that version last changed, by the vault's clock (ISO 8601 UTC), or `sourceUpdatedOn` when given; "" when unknown. */
    versionUpdatedOn: string;
    /** Set by `read` when the vault has a newer version than `version`: the next update takes a new backup. */
    newerVersion?: string;
    /**
     * True when the backup may have been taken in the same second (by the vault's clock) as the change
     * `versionUpdatedOn` records: a version made later in that second has the same `updated` time,
     * so a listing time in that second is decided by version id (see `dueReasons`, `read`). Absent otherwise.
     */
    sameSecond?: boolean;
};

/**
 * How long after the end of a change's second (by this machine's clock) a backup of it starts, for
 * a vault clock slightly ahead of this one (the vault's `Date` answer catches larger gaps).
 */
const CLOCK_MARGIN_MS = 250;

/** Resolves once the second of `iso` (plus `CLOCK_MARGIN_MS`) is over by this machine's clock; at once for an older time. */
function secondOver(iso: string): Promise<void> {
    const wait = (secondOf(iso) + 1) * 1000 + CLOCK_MARGIN_MS - Date.now();
    return wait > 0 ? new Promise((resolve) => setTimeout(resolve, Math.min(wait, 1000 + CLOCK_MARGIN_MS))) : Promise.resolve();
}

/** The stack config key that sets the per-vault pacing (operations per 10 seconds). */
export const PACING_CONFIG_KEY = "secret-backup:vaultOperationsPer10Seconds";

let credentialConfig: CredentialSettings = {};
let credential: TokenCredential | undefined;
let vaults: VaultClients | undefined;
let clientSettings: VaultClientSettings = { ...defaultVaultClientSettings(), onThrottlePause: (pause) => pulumi.log.info(throttlePauseMessage(pause)) };

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
    clientSettings = {
        ...defaultVaultClientSettings(),
        onThrottlePause: (pause) => pulumi.log.info(throttlePauseMessage(pause)),
        ...(raw !== undefined ? { operationsPer10Seconds: pacing } : {}),
        ...overrides,
    };
    credential = undefined;
    vaults = undefined;
}

/**
 * Validates `news` (inputs of a backup of `kind`; by default the kind their name property tells)
 * without calling anything remote: failures per property, normalised inputs. The provider plugin
 * passes the kind its resource type names, so a missing name is reported as that kind's.
 */
export async function check(_olds: Record<string, unknown>, news: Record<string, unknown>, kind: KindInfo = kindOfProps(news)): Promise<{ inputs: Record<string, unknown>; failures: InputFailure[] }> {
    const failures = inputFailures(news, kind);
    // The default folder is checked too: a file in its place would otherwise fail only after the vault call.
    const destination = news.destination ?? DEFAULT_DESTINATION;
    if (typeof destination === "string" && !isUnknown(destination) && !failures.some((f) => f.property === "destination")) {
        const reason = await destinationProblem(destination, clientSettings.requestTimeoutMs);
        if (reason) failures.push({ property: "destination", reason });
    }
    if (failures.length) return { inputs: news, failures };
    return { inputs: { ...normalizeInputs(news, kind) }, failures };
}

/**
 * Why a new backup is due, one reason each (empty when none is): a backup input changed; `read`
 * found the stored blob missing or changed (state `sha256` is ""); `read` found a newer version in
 * the vault (state `newerVersion`); or the vault's listing (`sourceUpdatedOn`, from `VaultBackup`)
 * says the object changed after the version the backup holds (state `versionUpdatedOn`, or, in
 * state written before versions were recorded, `backedUpAt`).
 */
export function dueReasons(olds: Record<string, unknown>, news: Record<string, unknown>, kind: KindInfo = kindOfProps(news)): { keys: string[]; reasons: string[] } {
    const keys = changedInputs(normalizeInputs(olds, kind), normalizeInputs(news, kind), kind);
    const reasons = keys.length ? [`inputs changed: ${keys.join(", ")}`] : [];
    if (olds.sha256 === "") {
        keys.push("sha256");
        reasons.push(`the stored backup${typeof olds.location === "string" && olds.location ? ` ${olds.location}` : ""} was found missing or changed by refresh`);
    }
    if (typeof olds.newerVersion === "string" && olds.newerVersion) {
        keys.push("newerVersion");
        reasons.push(`a new version ${olds.newerVersion} in the vault (the backup holds ${typeof olds.version === "string" && olds.version ? olds.version : "an older one"})`);
    }
    const listed = news.sourceUpdatedOn;
    const held = heldSince(olds);
    if (typeof listed === "string" && !isUnknown(listed) && held && secondOf(listed) > secondOf(held) && !keys.includes("newerVersion")) {
        keys.push("sourceUpdatedOn");
        reasons.push(`the vault lists it as changed at ${listed}, after the version the backup holds (${held}): a new version in the vault`);
    }
    return { keys, reasons };
}

/**
 * Whether the vault's listing time (`news.sourceUpdatedOn`) falls in the same second as the time
 * the backup in `olds` holds, where the backup may not hold every version made in that second (see
 * `mayShareSecond`): times alone cannot tell, so `diff` decides by the object's version listing.
 * Pure; false whenever `dueReasons` already found a reason of the vault's (a newer version).
 */
export function listedInHeldSecond(olds: Record<string, unknown>, news: Record<string, unknown>): boolean {
    const listed = news.sourceUpdatedOn;
    const held = heldSince(olds);
    if (typeof listed !== "string" || isUnknown(listed) || !held || (typeof olds.newerVersion === "string" && olds.newerVersion)) return false;
    return secondOf(listed) === secondOf(held) && mayShareSecond(olds);
}

/**
 * Whether a new backup is due (see `dueReasons`), logging one line with the reasons when it is:
 * the dynamic-provider host does not pass `changedKeys` to the engine, so the log is how preview
 * says why. Never a replacement: earlier backups are always kept.
 */
export async function diff(_id: string, olds: Record<string, unknown>, news: Record<string, unknown>, kind: KindInfo = kindOfProps(news)): Promise<{ changes: boolean; replaces: string[]; changedKeys: string[] }> {
    const { keys, reasons } = dueReasons(olds, news, kind);
    const name = isUnknown(news[kind.nameInput]) ? olds[kind.nameInput] : news[kind.nameInput];
    if (!keys.length && listedInHeldSecond(olds, news)) {
        const tie = await tieReason(kind, olds, String(name), String(news.sourceUpdatedOn));
        if (tie) {
            keys.push("sourceUpdatedOn");
            reasons.push(tie);
        }
    }
    if (reasons.length) {
        pulumi.log.info(`${kind.resourceName} of ${kind.noun} "${String(name)}": a new backup is due: ${reasons.join("; ")}`);
    }
    return { changes: keys.length > 0, replaces: [], changedKeys: keys };
}

/**
 * Decides a listing time in the second the backup holds by the object's version listing: the
 * reason a backup is due when the vault's current version is not the one the backup holds (or
 * which one it holds is not known, or the listing failed); undefined when it is the one held.
 */
async function tieReason(kind: KindInfo, olds: Record<string, unknown>, name: string, listed: string): Promise<string | undefined> {
    const held = typeof olds.version === "string" ? olds.version : "";
    const same = `the vault lists it as changed at ${listed}, the same second as the version the backup holds`;
    let current: CurrentVersion | undefined;
    try {
        current = await getVaults().currentVersion(kind, String(olds.vaultUrl), name, ((olds.apiVersion ?? "7.4") as ApiVersion));
    } catch (e) {
        return `${same}, and its versions could not be listed to tell whether that is a new version (${(e as Error).message.split("\n")[0]})`;
    }
    if (!current) return undefined;
    if (held && current.version === held) return undefined;
    return held ? `${same}, but its current version is ${current.version}, not ${held}: a new version in the vault` : `${same}, and which version the backup holds is not known: backed up again to be sure`;
}

/** Takes the first backup. Throws, leaving nothing written, when the vault or the write fails. */
export async function create(news: Record<string, unknown>, kind: KindInfo = kindOfProps(news)): Promise<{ id: string; outs: BackupOutputs }> {
    const outs = await takeBackup(kind, news);
    return { id: outs.location, outs };
}

/** Takes a new backup to a new file; the earlier backup stays where it is (unless refresh found it gone or changed, which the log says). */
export async function update(_id: string, olds: Record<string, unknown>, news: Record<string, unknown>, kind: KindInfo = kindOfProps(news)): Promise<{ outs: BackupOutputs }> {
    const earlier = typeof olds.location === "string" && olds.location ? olds.location : undefined;
    const kept = !earlier ? "" : olds.sha256 === "" ? `; refresh found the earlier backup ${earlier} missing or changed` : `; the earlier backup stays at ${earlier}`;
    return { outs: await takeBackup(kind, news, kept) };
}

/**
 * Checks that the stored blob still exists and hashes to `sha256`, and that the object has no
 * newer version in the vault than the one the backup holds (a version listing, never a value).
 * On drift it warns and returns the state with `sha256` set to "" (blob missing or changed) or
 * `newerVersion` set (rotated), which `diff` treats as a change, so the next `pulumi up` takes a
 * fresh backup. When the vault cannot be asked (no `list` permission, no credential, unreachable)
 * it warns with Key Vault's facts and leaves the version unchecked.
 */
export async function read(id: string, props: Record<string, unknown>, kind: KindInfo = kindOfProps(props)): Promise<{ id: string; props: Record<string, unknown> }> {
    const { location, sha256, destination } = props;
    if (typeof location !== "string" || typeof sha256 !== "string") return { id, props };
    const name = String(props[kind.nameInput]);
    let next = props;
    if (sha256 !== "") {
        const where = String(destination ?? location);
        // A folder needs no credential: the stored backup is checked even without Azure sign-in.
        const stored = await openDestination(where, isBlobDestination(where) ? { credential: getCredential() } : {}).verify(location, sha256);
        if (stored !== "ok") {
            pulumi.log.warn(`backup of ${kind.noun} "${name}" at ${location} is ${stored === "missing" ? "missing" : "changed (hash differs)"}; the next update takes a fresh backup`);
            next = { ...next, sha256: "" };
        }
    }
    const { newer, holds } = await versionCheck(kind, props, name);
    const { newerVersion: _, ...rest } = next;
    if (holds) rest.version = holds;
    return { id, props: newer ? { ...rest, newerVersion: newer } : rest };
}

/**
 * The vault's current version of the object: as `newer` when it is newer than the one the backup
 * holds; as `holds` when the state has no version id yet (a backup `VaultBackup` took) and the
 * backup holds it. Neither when unknown (with a warning).
 */
async function versionCheck(kind: KindInfo, props: Record<string, unknown>, name: string): Promise<{ newer?: string; holds?: string }> {
    const vaultUrl = String(props.vaultUrl);
    let current: CurrentVersion | undefined;
    try {
        current = await getVaults().currentVersion(kind, vaultUrl, name, (props.apiVersion ?? "7.4") as ApiVersion);
    } catch (e) {
        pulumi.log.warn(`could not check whether ${kind.noun} "${name}" has a new version since its backup, so a rotation would go unnoticed: ${(e as Error).message}`);
        return {};
    }
    if (!current) return {};
    const held = typeof props.version === "string" ? props.version : "";
    // Without a version id (a VaultBackup child, or state written before versions were recorded) the
    // version is newer if it changed after the time the backup is known to hold.
    const since = heldSince(props);
    // In the second the backup holds, a version made after the backup has the same time: without
    // a version id that tie cannot be told apart, so it counts as new unless the backup was surely later.
    const later = (t: string, s: string): boolean => secondOf(t) > secondOf(s) || (secondOf(t) === secondOf(s) && mayShareSecond(props));
    const rotated = held ? current.version !== held : since !== undefined && current.updatedOn !== "" && later(current.updatedOn, since);
    if (!rotated) return !held && typeof props.versionUpdatedOn === "string" && props.versionUpdatedOn !== "" ? { holds: current.version } : {};
    pulumi.log.warn(`${kind.noun} "${name}" in ${vaultUrl} has a new version ${current.version} since its backup (which holds ${held || "an older one"}); the next update takes a new backup`);
    return { newer: current.version };
}

/**
 * The time up to which the backup in `state` is known to hold every change: `versionUpdatedOn`
 * (the vault's clock, from the listing read before the backup), else, in state written before
 * versions were recorded, `backedUpAt` (this machine's clock); undefined when neither is known.
 */
function heldSince(state: Record<string, unknown>): string | undefined {
    return [state.versionUpdatedOn, state.backedUpAt].find((t): t is string => typeof t === "string" && t !== "");
}

/** The whole second (Unix seconds) of an ISO time: Key Vault's `updated` has one-second resolution. */
function secondOf(iso: string): number {
    return Math.floor(Date.parse(iso) / 1000);
}

/**
 * Whether the backup in `state` may have been taken within the second `heldSince` names, so that a
 * version made after it in that second carries the same time: when the backup said so
 * (`sameSecond`), or when it was not taken at least a second later by `backedUpAt` (state written
 * before `sameSecond` existed, or without a vault time, where `heldSince` is `backedUpAt` itself).
 */
function mayShareSecond(state: Record<string, unknown>): boolean {
    if (state.sameSecond === true) return true;
    const held = heldSince(state);
    const backedUpAt = typeof state.backedUpAt === "string" ? Date.parse(state.backedUpAt) : NaN;
    return !held || !(backedUpAt >= (secondOf(held) + 1) * 1000);
}

/** Forgets the resource; backup files outlive it, which the log says. */
export async function remove(_id: string, props: Record<string, unknown>, kind: KindInfo = kindOfProps(props)): Promise<void> {
    const where = typeof props.location === "string" && props.location ? props.location : "its destination";
    pulumi.log.info(`${kind.resourceName} of ${kind.noun} "${String(props[kind.nameInput])}" removed from the stack; its backup stays at ${where}`);
}
export { remove as delete };

async function takeBackup(kind: KindInfo, news: Record<string, unknown>, kept = ""): Promise<BackupOutputs> {
    const failures = inputFailures(news, kind);
    if (failures.length) throw new Error(`invalid ${kind.resourceName} inputs:\n${failures.map((f) => `  ${f.property}: ${f.reason}`).join("\n")}`);
    const inputs = normalizeInputs(news, kind);
    const vaultUrl = inputs.vaultUrl as string;
    const name = inputs[kind.nameInput] as string;
    const apiVersion = inputs.apiVersion as ApiVersion;
    // The write is bounded like a vault call: a folder that never answers must not hang `pulumi up`.
    const destination = openDestination(inputs.destination as string, { credential: getCredential(), timeoutMs: clientSettings.requestTimeoutMs });
    // The version is read before the backup, so the backup holds it or a newer one (never an older one).
    // A caller that has just listed the vault (VaultBackup) passes the object's time from that
    // listing: it already tells a later rotation apart, so the per-object listing is skipped (one
    // vault call instead of two per backup); the version id is then filled in by the next refresh.
    // Within the listed change's second, though, a version made after the backup would carry the
    // same time, so the backup waits until that second is over (by this machine's clock, at most
    // ~1 s, only right after a change); if the vault's `Date` says it was not, see below.
    const listedAt = typeof inputs.sourceUpdatedOn === "string" ? inputs.sourceUpdatedOn : undefined;
    let current = listedAt ? { version: "", updatedOn: listedAt, managed: false } : await versionBeforeBackup(kind, vaultUrl, name, apiVersion);
    if (current?.managed) throw new Error(`${kind.resourceName}: ${managedAdvice(kind, name)}`);
    if (listedAt) await secondOver(listedAt);
    let { blob, requestId, vaultDate } = await getVaults().backup(kind, vaultUrl, name, apiVersion);
    const inListedSecond = (date: number | undefined): boolean => listedAt !== undefined && date !== undefined && Math.floor(date / 1000) <= secondOf(listedAt);
    let tied = false;
    if (inListedSecond(vaultDate)) {
        // The vault's clock was still in that second (it runs behind this machine's): this blob may
        // lack a version made right after it. A second later it has moved on: take the backup again.
        await clientSettings.sleep(1000);
        ({ blob, requestId, vaultDate } = await getVaults().backup(kind, vaultUrl, name, apiVersion));
    }
    if (inListedSecond(vaultDate)) {
        // Still that second (a clock that does not move): read the version, then take the backup
        // again, which holds it, and let ties be decided by that version id (`sameSecond`).
        current = (await versionBeforeBackup(kind, vaultUrl, name, apiVersion)) ?? current;
        ({ blob, requestId } = await getVaults().backup(kind, vaultUrl, name, apiVersion));
        tied = true;
    }
    const record = { vaultUrl, secretName: name, kind: kind.kind, backedUpAt: new Date().toISOString(), sha256: sha256Hex(blob), sizeBytes: blob.length };
    let location: string;
    try {
        location = await destination.write(blob, record);
    } catch (error) {
        throw new Error(
            `writing the backup of ${kind.noun} "${name}" from vault ${vaultUrl} to ${String(inputs.destination)} failed: ${(error as Error).message}\n` +
            `What to do: make sure the destination exists, is writable and has space, then run again; nothing was written.`,
        );
    }
    pulumi.log.info(`backed up ${kind.noun} "${name}": ${record.sizeBytes} bytes, sha256 ${record.sha256.slice(0, 12)}, to ${location}${kept}`);
    const { backedUpAt, sha256, sizeBytes } = record;
    return {
        ...(inputs as BackupInputs), triggers: plainJson(inputs.triggers as unknown[]), backedUpAt, sha256, sizeBytes, location, requestId,
        version: current?.version ?? "", versionUpdatedOn: current?.updatedOn ?? "",
        ...(tied ? { sameSecond: true } : {}),
    };
}

/**
 * The object's current version before its backup; undefined when the vault does not list one.
 * A failure other than the object being missing (which the backup call reports) is a warning,
 * not a failure: the backup is still taken, only rotations go unnoticed by refresh.
 */
async function versionBeforeBackup(kind: KindInfo, vaultUrl: string, name: string, apiVersion: ApiVersion): Promise<CurrentVersion | undefined> {
    try {
        return await getVaults().currentVersion(kind, vaultUrl, name, apiVersion);
    } catch (e) {
        if (!(e instanceof VaultError) || e.facts.status === 404) return undefined;
        // The backup call will say the same, with the backup permission's advice.
        if (e.facts.status === 401 || e.facts.code === "AuthenticationError" || e.facts.code === "CredentialUnavailableError") return undefined;
        pulumi.log.warn(`the version of ${kind.noun} "${name}" could not be recorded, so refresh cannot tell when it rotates: ${e.message}`);
        return undefined;
    }
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
