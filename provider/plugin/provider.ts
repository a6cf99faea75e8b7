/**
 * The provider plugin's `Provider` (served by `@pulumi/pulumi/provider`'s `main`, see `main.ts`):
 * `check`, `diff`, `create`, `read`, `update` and `delete` of the three backup resources call the
 * same `operations` functions the dynamic provider calls (one implementation, two faces), and
 * `construct` builds `VaultBackup` as a component whose children are the plugin's own resources.
 */
import * as fs from "node:fs";
import * as pulumi from "@pulumi/pulumi";
import type * as provider from "@pulumi/pulumi/provider";
import * as operations from "../operations";
import { KINDS, type KindInfo } from "../kinds";
import { VAULT_BACKUP_OUTPUTS, VAULT_BACKUP_TYPE as DYNAMIC_VAULT_BACKUP_TYPE, VaultBackup as DynamicVaultBackup, type VaultBackupArgs } from "../vault-backup";
import { programCredential } from "../vault-listing";
import type { ObjectBackup } from "../resource";
import { newPluginBackup } from "./resources";
import { CONFIG_KEYS, pluginConfig, unwrapSecrets } from "./config";
import { PACKAGE_NAME, PACKAGE_VERSION, PLUGIN_TYPES, PLUGIN_VAULT_BACKUP_TYPE, SCHEMA_PATH } from "./tokens";

/** The kind a plugin type token names, or undefined for a token the plugin does not serve. */
function kindOfType(type: string): KindInfo | undefined {
    return Object.values(KINDS).find((k) => PLUGIN_TYPES[k.kind] === type);
}

/** The resource type of a URN (`urn:pulumi:stack::project::parent$type::name`). */
function typeOfUrn(urn: string): string {
    const qualified = urn.split("::")[2] ?? "";
    return qualified.slice(qualified.lastIndexOf("$") + 1);
}

/**
 * `props` as the shared code takes them: secret wrappers removed (the engine sends secrets as
 * wrapped values to a provider that accepts secrets; backup inputs are never secret material).
 */
function plain(props: Record<string, unknown> | undefined): Record<string, unknown> {
    return unwrapSecrets(props ?? {}) as Record<string, unknown>;
}

/** `props` without undefined values (the wire has no undefined). */
function defined(props: Record<string, unknown>): Record<string, unknown> {
    return Object.fromEntries(Object.entries(props).filter(([, v]) => v !== undefined));
}

/**
 * The plugin's `VaultBackup`: the dynamic face's component (same listing, filters, child names
 * and outputs), registered under the plugin's token, listing with the plugin's credential rules
 * and declaring the plugin's own backup resources as children.
 */
class PluginVaultBackup extends DynamicVaultBackup {
    static override readonly typeToken: string = PLUGIN_VAULT_BACKUP_TYPE;
    /** The dynamic face's component URN (see `newBackup`); set by the first child. `declare`d: the base constructor starts the listing before a field initializer would run. */
    private declare dynamicParent?: pulumi.Output<string>;

    /**
     * A plugin backup resource, aliased to the dynamic child of the same name under the dynamic
     * `VaultBackup` of the same name: the engine replaces the component itself when it moves from
     * the program to the plugin (a component with no provider becomes one with a provider), but
     * its children move with their state, so no backup is taken again.
     */
    protected override newBackup(kind: KindInfo, resourceName: string, objectName: string, args: Record<string, unknown>, opts: pulumi.CustomResourceOptions): ObjectBackup {
        // One Output for the component, not one per child.
        this.dynamicParent ??= this.urn.apply(dynamicComponentUrn);
        const aliases = [{ type: kind.typeToken, parent: this.dynamicParent }, ...(opts.aliases ?? [])];
        return newPluginBackup(kind, resourceName, objectName, args, { ...opts, aliases });
    }

    protected override listingCredential(): ReturnType<typeof programCredential> {
        return programCredential(pluginConfig(runtimeConfig()));
    }
}

/** The URN the dynamic face's `VaultBackup` of the same name and parent has: `urn`'s own type replaced by the dynamic face's. */
export function dynamicComponentUrn(urn: string): string {
    const parts = urn.split("::");
    const types = parts[2].split("$");
    types[types.length - 1] = DYNAMIC_VAULT_BACKUP_TYPE;
    return [...parts.slice(0, 2), types.join("$"), ...parts.slice(3)].join("::");
}

/** The stack config the engine gave `construct` (the plugin reads its own package's keys from it). */
function runtimeConfig(): Record<string, string | undefined> {
    const get = (key: string): string | undefined => pulumi.runtime.getConfig(key);
    return Object.fromEntries(CONFIG_KEYS.map((k) => [`${PACKAGE_NAME}:${k}`, get(`${PACKAGE_NAME}:${k}`)]));
}

/** Waits for an input's value: `construct` gets Outputs for inputs with dependencies or secrets. */
async function settle(value: unknown): Promise<unknown> {
    if (pulumi.Output.isInstance(value)) {
        const o = value as unknown as { isKnown: Promise<boolean>; promise(): Promise<unknown> };
        if (!(await o.isKnown)) return undefined;
        return settle(await o.promise());
    }
    if (Array.isArray(value)) return Promise.all(value.map(settle));
    if (value && typeof value === "object" && !pulumi.Resource.isInstance(value)) {
        return Object.fromEntries(await Promise.all(Object.entries(value).map(async ([k, v]) => [k, await settle(v)])));
    }
    return value;
}

/** The `keyvault-backup` provider: the backup resources' lifecycle and the `VaultBackup` component. */
export class KeyVaultBackupProvider implements provider.Provider {
    /** The plugin's version (this package's). */
    readonly version = PACKAGE_VERSION;

    /** Takes the plugin's configuration (bare keys such as `clientId`, or `keyvault-backup:clientId`), as Configure gives it. */
    configure(values: Record<string, string>): void {
        operations.configure(pluginConfig(values));
    }

    /** The package schema, from `plugin/schema.json`. */
    async getSchema(): Promise<string> {
        return fs.promises.readFile(SCHEMA_PATH, "utf8");
    }

    /** See `operations.check`. */
    async check(urn: string, olds: Record<string, unknown>, news: Record<string, unknown>): Promise<provider.CheckResult> {
        const result = await operations.check(plain(olds), plain(news), this.kindOf(urn));
        return { inputs: defined(result.inputs), failures: result.failures };
    }

    /** See `operations.diff`. */
    async diff(id: string, urn: string, olds: Record<string, unknown>, news: Record<string, unknown>): Promise<provider.DiffResult> {
        const result = await operations.diff(id, plain(olds), plain(news), this.kindOf(urn));
        return { changes: result.changes, replaces: result.replaces };
    }

    /** See `operations.create`. */
    async create(urn: string, inputs: Record<string, unknown>): Promise<provider.CreateResult> {
        const result = await operations.create(plain(inputs), this.kindOf(urn));
        return { id: result.id, outs: defined(result.outs) };
    }

    /** See `operations.read`. */
    async read(id: string, urn: string, props?: Record<string, unknown>): Promise<provider.ReadResult> {
        const result = await operations.read(id, plain(props), this.kindOf(urn));
        return { id: result.id, props: defined(result.props) };
    }

    /** See `operations.update`. */
    async update(id: string, urn: string, olds: Record<string, unknown>, news: Record<string, unknown>): Promise<provider.UpdateResult> {
        const result = await operations.update(id, plain(olds), plain(news), this.kindOf(urn));
        return { outs: defined(result.outs) };
    }

    /** See `operations.remove`: the backup files stay. */
    async delete(id: string, urn: string, props: Record<string, unknown>): Promise<void> {
        await operations.remove(id, plain(props), this.kindOf(urn));
    }

    /** Builds `VaultBackup`: lists the vault and declares the plugin's backup resources as children. */
    async construct(name: string, type: string, inputs: pulumi.Inputs, options: pulumi.ComponentResourceOptions): Promise<provider.ConstructResult> {
        if (type !== PLUGIN_VAULT_BACKUP_TYPE) throw new Error(`${PACKAGE_NAME}: unknown component type ${type}`);
        const args = defined((await settle(inputs)) as Record<string, unknown>) as unknown as VaultBackupArgs;
        const component = new PluginVaultBackup(name, args, options);
        return {
            urn: component.urn,
            state: Object.fromEntries(VAULT_BACKUP_OUTPUTS.map((k) => [k, component[k]])),
        };
    }

    private kindOf(urn: string): KindInfo {
        const kind = kindOfType(typeOfUrn(urn));
        if (!kind) throw new Error(`${PACKAGE_NAME}: unknown resource type ${typeOfUrn(urn)} (${urn})`);
        return kind;
    }
}
