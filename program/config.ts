/**
 * The root program's stack configuration, read and checked in one place so a mistake names the
 * key: `vaultUrl`, `secrets` (names, or `{ name, version }` to pin the version a backup must
 * follow), optional `keys` and `certificates` (names), `destination` and `triggers`.
 */
import * as pulumi from "@pulumi/pulumi";

/** One secret to back up; a new `version` (when given) takes a new backup. */
export interface SecretEntry {
    name: string;
    version?: string;
}

/** The checked stack config of the root program. */
export interface ProgramConfig {
    vaultUrl: string;
    secrets: SecretEntry[];
    /** Key names (config `keys`; [] when not set). */
    keys: string[];
    /** Certificate names (config `certificates`; [] when not set). */
    certificates: string[];
    destination?: string;
    triggers?: unknown[];
}

/** Reads the project's config; throws naming the key when a value has the wrong shape. */
export function readProgramConfig(config: pulumi.Config = new pulumi.Config()): ProgramConfig {
    const vaultUrl = config.require("vaultUrl");
    const raw = config.requireObject<unknown>("secrets");
    if (!Array.isArray(raw) || raw.length === 0) {
        throw new Error(`config "secrets" must be a non-empty list of secret names (or { name, version } objects)`);
    }
    const secrets = raw.map((entry, i) => secretEntry(entry, i));
    refuseTwice("secrets", secrets.map((s) => s.name));
    const keys = nameList(config, "keys", "key");
    const certificates = nameList(config, "certificates", "certificate");
    const triggers = config.getObject<unknown>("triggers");
    if (triggers !== undefined && !Array.isArray(triggers)) throw new Error(`config "triggers" must be a list`);
    return { vaultUrl, secrets, keys, certificates, destination: config.get("destination"), triggers };
}

function secretEntry(entry: unknown, i: number): SecretEntry {
    if (typeof entry === "string") return { name: entry };
    const e = entry as { name?: unknown; version?: unknown } | null;
    if (e && typeof e.name === "string" && (e.version === undefined || typeof e.version === "string")) {
        return e.version === undefined ? { name: e.name } : { name: e.name, version: e.version };
    }
    throw new Error(`config "secrets"[${i}] must be a secret name or { name, version }`);
}

/** Throws naming `key` when a name appears twice. */
function refuseTwice(key: string, names: string[]): void {
    const seen = new Set<string>();
    for (const name of names) {
        if (seen.has(name)) throw new Error(`config "${key}" names "${name}" twice`);
        seen.add(name);
    }
}

/** The optional list of plain names under `key` ([] when not set); throws naming the key and the entry. */
function nameList(config: pulumi.Config, key: string, noun: string): string[] {
    const raw = config.getObject<unknown>(key);
    if (raw === undefined) return [];
    if (!Array.isArray(raw)) throw new Error(`config "${key}" must be a list of ${noun} names`);
    raw.forEach((entry, i) => {
        if (typeof entry !== "string" || entry === "") throw new Error(`config "${key}"[${i}] must be a ${noun} name`);
    });
    refuseTwice(key, raw as string[]);
    return raw as string[];
}
