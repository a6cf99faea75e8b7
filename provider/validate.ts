/**
 * Pure validation and normalisation of `SecretBackup` inputs. Nothing here touches the network or
 * the disk, so every rule is table-tested; the destination's usability on disk is checked by the
 * destination itself (`destinations/index.ts`).
 */
import type { SecretClientOptions } from "@azure/keyvault-secrets";
import { redactUrl } from "./redact";
import { KINDS, type KindInfo } from "./kinds";

/** The string the engine sends in place of a value that is not known yet (during preview). */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** An API version `@azure/keyvault-secrets` accepts as `serviceVersion`. */
export type ApiVersion = NonNullable<SecretClientOptions["serviceVersion"]>;

// A Record over the SDK's own union: tsc fails here when the SDK adds or drops a version.
const API_VERSIONS: Record<ApiVersion, true> = {
    "7.0": true, "7.1": true, "7.2": true, "7.3": true, "7.4": true, "7.5": true, "7.6": true, "2025-07-01": true,
};

/** The API versions a `SecretBackup` accepts, oldest first. */
export const SUPPORTED_API_VERSIONS = Object.keys(API_VERSIONS) as ApiVersion[];

/** The API version used when none is given: the one the project's wire reference documents. */
export const DEFAULT_API_VERSION: ApiVersion = "7.4";

/** Where backups go when no destination is given (relative to the Pulumi project folder). */
export const DEFAULT_DESTINATION = "./secret-backups";

/** The Key Vault DNS suffixes of the public, China, US Government and German clouds. */
const KEY_VAULT_SUFFIXES = ["vault.azure.net", "vault.azure.cn", "vault.usgovcloudapi.net", "vault.microsoftazure.de"];

/** The inputs of one backup after defaults are applied: what state echoes and `diff` compares. */
export type BackupInputs = {
    vaultUrl: string;
    secretName: string;
    destination: string;
    /** "" when not given; only a trigger (Backup Secret always includes every version). */
    secretVersion: string;
    triggers: unknown[];
    apiVersion: ApiVersion;
};

/** One rejected input, as Pulumi's `check` reports it. */
export interface InputFailure {
    property: string;
    reason: string;
}

/** Whether `value` is, or contains, a value not known until the deployment (preview). */
export function isUnknown(value: unknown): boolean {
    if (value === UNKNOWN) return true;
    if (Array.isArray(value)) return value.some(isUnknown);
    if (value && typeof value === "object") return Object.values(value).some(isUnknown);
    return false;
}

/** Whether a host name is this machine (the emulator's case): `localhost`, 127.0.0.0/8 or `[::1]`. */
export function isLoopbackHost(hostname: string): boolean {
    const h = hostname.replace(/^\[|\]$/g, "").toLowerCase();
    return h === "localhost" || h === "::1" || /^127(\.\d{1,3}){3}$/.test(h);
}

/** The reason `value` is not a usable vault URL, or undefined when it is. */
export function vaultUrlProblem(value: unknown): string | undefined {
    if (typeof value !== "string" || value === "") return "vaultUrl is required: the vault's URL, e.g. https://myvault.vault.azure.net";
    const shown = redactUrl(value);
    let url: URL;
    try {
        url = new URL(value);
    } catch {
        return `"${shown}" is not a URL; expected e.g. https://myvault.vault.azure.net`;
    }
    if (url.protocol !== "https:") return `"${shown}" must use https (Key Vault accepts only TLS)`;
    if (url.username || url.password || url.search || url.hash || (url.pathname !== "/" && url.pathname !== "")) {
        return `"${shown}" must be the vault's base URL only (no path, query or user), e.g. https://${url.host}`;
    }
    if (isLoopbackHost(url.hostname)) return undefined;
    const host = url.hostname.toLowerCase();
    const suffix = KEY_VAULT_SUFFIXES.find((s) => host.endsWith(`.${s}`));
    if (!suffix) return `"${url.hostname}" is not a Key Vault host (expected <name>.${KEY_VAULT_SUFFIXES.join(", <name>.")}, or a loopback host for the emulator)`;
    const name = host.slice(0, -suffix.length - 1);
    if (!/^[a-z][a-z0-9-]{1,22}[a-z0-9]$/.test(name) || name.includes("--")) {
        return `"${name}" is not a valid vault name (3-24 letters, digits and single hyphens, starting with a letter)`;
    }
    if (url.port !== "") return `"${shown}" must not name a port: Key Vault listens on 443`;
    return undefined;
}


/** The reason `value` is not a valid name of a `kind` object (a secret by default), or undefined when it is. */
function secretNameProblem(value: unknown, kind: KindInfo = KINDS.secret): string | undefined {
    if (typeof value !== "string" || value === "") {
        return kind.kind === "secret" ? "secretName is required (or pass `secret`)" : kind.kind === "key" ? "keyName is required (or pass `key`)" : `${kind.nameInput} is required`;
    }
    if (!/^[0-9a-zA-Z-]{1,127}$/.test(value)) {
        return `"${value}" is not a valid ${kind.noun} name: 1-127 characters, only letters, digits and hyphens`;
    }
    return undefined;
}

/**
 * The supported API version `value` names, or undefined. A number is accepted for the dotted
 * versions, since YAML stack config reads `apiVersion: 7.4` as one: `7.4` gives "7.4", `7` gives "7.0".
 */
export function normalizeApiVersion(value: unknown): ApiVersion | undefined {
    if (typeof value === "string") return (SUPPORTED_API_VERSIONS as string[]).includes(value) ? (value as ApiVersion) : undefined;
    if (typeof value === "number") return SUPPORTED_API_VERSIONS.find((v) => /^\d+\.\d+$/.test(v) && Number(v) === value);
    return undefined;
}

/** The reason `value` is not a supported API version (a string, or a number such as 7.4), or undefined when it is. */
export function apiVersionProblem(value: unknown): string | undefined {
    if (normalizeApiVersion(value) !== undefined) return undefined;
    return `${JSON.stringify(value)} is not an API version this provider supports; use one of ${SUPPORTED_API_VERSIONS.join(", ")}`;
}

/** The reason `value` is not a usable version of a `kind` object (a secret by default), or undefined when it is. */
function secretVersionProblem(value: unknown, kind: KindInfo = KINDS.secret): string | undefined {
    if (value === undefined || value === null || value === "") return undefined;
    if (typeof value !== "string" || !/^[0-9a-zA-Z]{1,64}$/.test(value)) {
        return `${JSON.stringify(value)} is not a ${kind.noun} version (a string of letters and digits, e.g. 4387e9f3d6e14c459867679a90fd0f79)`;
    }
    return undefined;
}

/** The reason `value` is not a usable `sourceUpdatedOn` (an ISO 8601 time, as `VaultBackup` passes it), or undefined. */
function sourceUpdatedOnProblem(value: unknown): string | undefined {
    if (value === undefined || value === null || value === "") return undefined;
    if (typeof value !== "string" || !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/.test(value) || Number.isNaN(Date.parse(value))) {
        return `${JSON.stringify(value)} is not a time: give an ISO 8601 UTC time such as 2026-12-01T00:00:00.000Z (when the object last changed in the vault)`;
    }
    return undefined;
}

/** The reason `value` is not usable as triggers, or undefined when it is. */
function triggersProblem(value: unknown): string | undefined {
    if (value === undefined || value === null) return undefined;
    if (!Array.isArray(value)) return `triggers must be a list of values (got ${typeof value})`;
    // Triggers are kept in state (inputs and outputs) and compared on every diff: keep them small.
    if (value.length > MAX_TRIGGERS) return `triggers has ${value.length} values; at most ${MAX_TRIGGERS} are allowed (use a hash of a larger input)`;
    const size = Buffer.byteLength(JSON.stringify(value) ?? "");
    if (size > MAX_TRIGGERS_BYTES) return `triggers take ${size} bytes as JSON; at most ${MAX_TRIGGERS_BYTES} are allowed (use a hash of a larger input)`;
    return undefined;
}

/** The most values `triggers` may hold. */
const MAX_TRIGGERS = 1000;
/** The most bytes `triggers` may take as JSON. */
const MAX_TRIGGERS_BYTES = 64 * 1024;

/** The reason `value` is not a destination string, or undefined (usability on disk is checked elsewhere). */
function destinationShapeProblem(value: unknown): string | undefined {
    if (value === undefined || value === null) return undefined;
    if (typeof value !== "string" || value.trim() === "") return "destination must be a folder path, a file:// URL or a Blob Storage container URL";
    const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(value.trim())?.[1].toLowerCase();
    // Only the scheme is named: the rest of an unknown URL may hold credentials.
    if (scheme && !["file", "http", "https"].includes(scheme)) return `destination scheme "${scheme}:" is not supported; use a folder path, a file:// URL or a Blob Storage container URL`;
    if (!scheme || scheme === "file") {
        const segments = value.split(/[\\/]/).map((s) => (scheme ? safeDecode(s) : s));
        if (segments.includes("..")) return `destination must not contain ".." segments (the folder would lie outside the one named); give the folder as an absolute path`;
    }
    return undefined;
}

function safeDecode(segment: string): string {
    try {
        return decodeURIComponent(segment);
    } catch {
        return segment;
    }
}

/** The input rules of a backup of `kind`, property by property, in the order failures are reported. */
function rules(kind: KindInfo): Array<[string, (v: unknown) => string | undefined]> {
    return [
        ["vaultUrl", vaultUrlProblem],
        [kind.nameInput, (v) => secretNameProblem(v, kind)],
        ["apiVersion", (v) => (v === undefined || v === null ? undefined : apiVersionProblem(v))],
        [kind.versionInput, (v) => secretVersionProblem(v, kind)],
        ["triggers", triggersProblem],
        ["destination", destinationShapeProblem],
        ["sourceUpdatedOn", sourceUpdatedOnProblem],
    ];
}

/**
 * Every problem with `news` (inputs of a backup of `kind`, a secret by default), one per
 * property. Properties whose value is not known yet (preview) are skipped: they are checked
 * again when known.
 */
export function inputFailures(news: Record<string, unknown>, kind: KindInfo = KINDS.secret): InputFailure[] {
    const failures: InputFailure[] = [];
    for (const [property, problem] of rules(kind)) {
        const value = news[property];
        if (isUnknown(value)) continue;
        const reason = problem(value);
        if (reason) failures.push({ property, reason });
    }
    return failures;
}

/**
 * `news` with defaults applied and the vault URL reduced to its origin; unknown values are kept
 * as they are. Call after `inputFailures` found nothing. For a secret (the default) the result
 * is exactly `BackupInputs`; for another kind its name and version keys are that kind's
 * (`keyName`, `keyVersion`, ...). `sourceUpdatedOn` is kept only when given.
 */
export function normalizeInputs(news: Record<string, unknown>): BackupInputs;
export function normalizeInputs(news: Record<string, unknown>, kind: KindInfo): Record<string, unknown>;
export function normalizeInputs(news: Record<string, unknown>, kind: KindInfo = KINDS.secret): Record<string, unknown> {
    const vaultUrl = news.vaultUrl;
    const out: Record<string, unknown> = {
        vaultUrl: typeof vaultUrl === "string" && vaultUrl !== UNKNOWN ? normalizeVaultUrl(vaultUrl) : (vaultUrl as string),
        [kind.nameInput]: news[kind.nameInput] as string,
        destination: (news.destination ?? DEFAULT_DESTINATION) as string,
        [kind.versionInput]: (news[kind.versionInput] ?? "") as string,
        triggers: (news.triggers ?? []) as unknown[],
        apiVersion: isUnknown(news.apiVersion) ? (news.apiVersion as ApiVersion) : (normalizeApiVersion(news.apiVersion ?? DEFAULT_API_VERSION) ?? (news.apiVersion as ApiVersion)),
    };
    if (news.sourceUpdatedOn !== undefined && news.sourceUpdatedOn !== null && news.sourceUpdatedOn !== "") out.sourceUpdatedOn = news.sourceUpdatedOn;
    return out;
}

/** A vault URL reduced to its origin (scheme, host and port, if any), lower case, without a trailing slash. */
export function normalizeVaultUrl(vaultUrl: string): string {
    return new URL(vaultUrl).origin;
}

/** The inputs that decide which backup of a secret exists: a change in any of them takes a new backup. */
const BACKUP_INPUT_KEYS: ReadonlyArray<keyof BackupInputs> = [
    "vaultUrl", "secretName", "destination", "secretVersion", "triggers", "apiVersion",
];

/** `BACKUP_INPUT_KEYS` for a backup of `kind`. */
function backupInputKeys(kind: KindInfo): string[] {
    return ["vaultUrl", kind.nameInput, "destination", kind.versionInput, "triggers", "apiVersion"];
}

/**
 * The input keys whose value differs between the state `olds` and the new inputs `news` (both
 * normalised, for a backup of `kind`, a secret by default). An unknown new value counts as a change.
 */
export function changedInputs(olds: Record<string, unknown>, news: Record<string, unknown>, kind: KindInfo = KINDS.secret): string[] {
    return backupInputKeys(kind).filter((k) => isUnknown(news[k]) || JSON.stringify(olds[k]) !== JSON.stringify(news[k]));
}
