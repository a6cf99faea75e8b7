/**
 * The initial state from options and a seed (JSON file or object): vaults, their secrets and
 * settings, principals, tenant and backup key. Bad seed input is an error naming the place.
 */
import * as fs from "node:fs";
import { randomBytes, randomUUID } from "node:crypto";
import { defaultPrincipals, parsePermissions, parsePolicy, type Principal } from "./principals";
import { newVault, type EmulatorState, type VaultState } from "./store";
import { checkName, setSecret } from "./vault";
import { createKey, importKey } from "./keys";
import { createCertificate, importCertificate } from "./certificates";
import { KeyVaultError } from "./errors";

/** One secret in a seed: a value, or versions oldest first. */
export type SeedSecret =
    | string
    | { value: string; contentType?: string; tags?: Record<string, string>; enabled?: boolean }
    | { versions: { value: string; contentType?: string; tags?: Record<string, string>; enabled?: boolean }[] };

/** One key in a seed: what create takes (`kty` RSA/EC, `key_size`, `crv`, `key_ops`, `tags`), or a private `jwk` to import. */
export type SeedKey = { kty?: string; key_size?: number; crv?: string; key_ops?: string[]; tags?: Record<string, string>; enabled?: boolean } | { jwk: Record<string, unknown>; tags?: Record<string, string> };

/** A vault in a seed. */
export interface SeedVault {
    recoverableDays?: number;
    accessModel?: "accessPolicy" | "rbac";
    firewall?: "allow" | "deny";
    /** clientId -> secret permissions (keys and certificates follow them), or `{ secrets?, keys?, certificates? }`; replaces the principal's defaults in this vault. */
    accessPolicies?: Record<string, string[] | { secrets?: string[]; keys?: string[]; certificates?: string[] }>;
    secrets?: Record<string, SeedSecret>;
    keys?: Record<string, SeedKey>;
    /** Certificates: a policy for a self-signed one (`{}` gives the service's defaults with subject CN=<name>), or a PFX/PEM `value` (with `pwd`) to import. */
    certificates?: Record<string, SeedCertificate>;
}

/** One certificate in a seed. */
export type SeedCertificate = { policy?: Record<string, unknown>; tags?: Record<string, string> } | { value: string; pwd?: string; tags?: Record<string, string> };

/** The seed's JSON shape. Every field is optional. */
export interface Seed {
    tenantId?: string;
    backupKey?: string;
    /** `permissions` are secret permissions; key and certificate permissions follow them unless given. */
    principals?: { clientId: string; clientSecret: string; objectId?: string; permissions: string[]; keyPermissions?: string[]; certificatePermissions?: string[] }[];
    vaults?: Record<string, SeedVault> | string[];
    /** Backup of a certificate's key or secret: "refuse" (default) or "allow" (see EmulatorOptions.managedBackup). */
    managedBackup?: "refuse" | "allow";
}

/** Reads a seed file; throws an error naming the file when it is missing or not JSON. */
export function readSeed(file: string): Seed {
    try {
        return JSON.parse(fs.readFileSync(file, "utf8")) as Seed;
    } catch (e) {
        throw new Error(`cannot read the seed file ${file}: ${(e as Error).message}`);
    }
}

/** Builds the first state: seed vaults plus `vaultNames` (default `["demo"]` when neither names any). */
export function initialState(seed: Seed, vaultNames: string[] | undefined, backupKey: string | undefined): EmulatorState {
    const principals: Principal[] = seed.principals
        ? seed.principals.map((p, i) => {
              if (typeof p?.clientId !== "string" || typeof p.clientSecret !== "string") {
                  throw new Error(`seed: principals[${i}] needs clientId and clientSecret strings`);
              }
              return {
                  clientId: p.clientId,
                  clientSecret: p.clientSecret,
                  objectId: p.objectId ?? randomUUID(),
                  permissions: parsePermissions(p.permissions, `seed: principals[${i}]`),
                  ...(p.keyPermissions !== undefined ? { keyPermissions: parsePermissions(p.keyPermissions, `seed: principals[${i}].keyPermissions`, "keys") } : {}),
                  ...(p.certificatePermissions !== undefined
                      ? { certificatePermissions: parsePermissions(p.certificatePermissions, `seed: principals[${i}].certificatePermissions`, "certificates") }
                      : {}),
              };
          })
        : defaultPrincipals();
    const state: EmulatorState = {
        tenantId: seed.tenantId ?? randomUUID(),
        backupKey: backupKey ?? seed.backupKey ?? randomBytes(32).toString("base64url"),
        principals,
        vaults: {},
    };
    if (seed.managedBackup !== undefined) {
        if (seed.managedBackup !== "refuse" && seed.managedBackup !== "allow") throw new Error(`seed: managedBackup must be "refuse" or "allow"`);
        state.managedBackup = seed.managedBackup;
    }
    const seedVaults: Record<string, SeedVault> = Array.isArray(seed.vaults)
        ? Object.fromEntries(seed.vaults.map((n) => [n, {}]))
        : (seed.vaults ?? {});
    const names = vaultNames ?? (Object.keys(seedVaults).length ? [] : ["demo"]);
    for (const name of names) state.vaults[name] = newVault(checkVaultName(name));
    for (const [name, v] of Object.entries(seedVaults)) state.vaults[name] = seedVault(checkVaultName(name), v);
    return state;
}

/** Vault names as Azure allows them: 3-24 letters, digits and dashes, starting with a letter. */
export function checkVaultName(name: string): string {
    if (!/^[a-zA-Z][a-zA-Z0-9-]{2,23}$/.test(name)) {
        throw new Error(`invalid vault name "${name}": use 3-24 letters, digits and dashes, starting with a letter`);
    }
    return name;
}

function seedVault(name: string, v: SeedVault): VaultState {
    const where = `seed: vault "${name}"`;
    const days = v.recoverableDays ?? 90;
    if (!Number.isInteger(days) || days < 7 || days > 90) throw new Error(`${where}: recoverableDays must be 7-90`);
    if (v.accessModel && v.accessModel !== "accessPolicy" && v.accessModel !== "rbac") throw new Error(`${where}: accessModel must be "accessPolicy" or "rbac"`);
    if (v.firewall && v.firewall !== "allow" && v.firewall !== "deny") throw new Error(`${where}: firewall must be "allow" or "deny"`);
    const vault = newVault(name, {
        recoverableDays: days,
        accessModel: v.accessModel ?? "accessPolicy",
        firewall: v.firewall ?? "allow",
        ...(v.accessPolicies
            ? { accessPolicies: Object.fromEntries(Object.entries(v.accessPolicies).map(([id, p]) => [id, parsePolicy(p, `${where}: accessPolicies.${id}`)])) }
            : {}),
    });
    const ctx = { state: vault, baseUrl: "" };
    const now = Math.floor(Date.now() / 1000);
    for (const [secretName, s] of Object.entries(v.secrets ?? {})) {
        const versions = typeof s === "string" ? [{ value: s }] : "versions" in s ? s.versions : [s];
        try {
            checkName(secretName);
            for (const x of versions) {
                setSecret(ctx, secretName, { value: x.value, contentType: x.contentType, tags: x.tags, attributes: { enabled: x.enabled ?? true } }, now);
            }
        } catch (e) {
            throw new Error(`${where}: secret "${secretName}": ${e instanceof KeyVaultError ? e.message : String(e)}`);
        }
    }
    for (const [keyName, k] of Object.entries(v.keys ?? {})) {
        try {
            if (!k || typeof k !== "object") throw new Error("expected an object");
            if ("jwk" in k) importKey(ctx, keyName, { key: k.jwk, tags: k.tags }, now);
            else createKey(ctx, keyName, { kty: k.kty ?? "RSA", key_size: k.key_size, crv: k.crv, key_ops: k.key_ops, tags: k.tags, attributes: { enabled: k.enabled ?? true } }, now);
        } catch (e) {
            throw new Error(`${where}: key "${keyName}": ${(e as Error).message}`);
        }
    }
    for (const [certName, c] of Object.entries(v.certificates ?? {})) {
        if (!c || typeof c !== "object") throw new Error(`${where}: certificate "${certName}": expected an object`);
        if (!("value" in c)) continue; // self-signed ones are issued by seedCertificates (issuing is asynchronous)
        try {
            importCertificate(ctx, certName, { value: c.value, pwd: c.pwd, tags: c.tags }, now);
        } catch (e) {
            throw new Error(`${where}: certificate "${certName}": ${(e as Error).message}`);
        }
    }
    return vault;
}

/** Issues the seed's self-signed certificates into a new state (after `initialState`); errors name the certificate. */
export async function seedCertificates(state: EmulatorState, seed: Seed): Promise<void> {
    if (Array.isArray(seed.vaults)) return;
    const now = Math.floor(Date.now() / 1000);
    for (const [vaultName, v] of Object.entries(seed.vaults ?? {})) {
        const ctx = { state: state.vaults[vaultName], baseUrl: "" };
        for (const [certName, c] of Object.entries(v.certificates ?? {})) {
            if ("value" in c) continue;
            const policy = { ...(c.policy ?? {}) } as Record<string, Record<string, unknown>>;
            policy.x509_props = { subject: `CN=${certName}`, ...(policy.x509_props ?? {}) };
            try {
                await createCertificate(ctx, certName, { policy, tags: c.tags }, now, "7.4");
            } catch (e) {
                throw new Error(`seed: vault "${vaultName}": certificate "${certName}": ${(e as Error).message}`);
            }
        }
    }
}
