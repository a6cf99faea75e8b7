/**
 * The provider plugin's package name, version and type tokens, chosen once: the schema, the
 * plugin, the plugin-face resources and every generated SDK take them from here.
 */
import * as path from "node:path";
import type { ObjectKind } from "../kinds";

/** This package's root folder (from `dist/provider/plugin`, three folders up). */
const PACKAGE_ROOT = path.join(__dirname, "..", "..", "..");

/** Where the plugin's schema is: `plugin/schema.json` of this package (written by `npm run schema`, read by the plugin). */
export const SCHEMA_PATH = path.join(PACKAGE_ROOT, "plugin", "schema.json");

/** The Pulumi package name: the plugin is `pulumi-resource-keyvault-backup`, config keys are `keyvault-backup:*`. */
export const PACKAGE_NAME = "keyvault-backup";

/** The plugin's version: this npm package's version (a generated SDK asks the engine for exactly this one). */
export const PACKAGE_VERSION: string = (require(path.join(PACKAGE_ROOT, "package.json")) as { version: string }).version;

/** The type token of each backup resource of the plugin, by kind: `keyvault-backup:index:SecretBackup`, ... */
export const PLUGIN_TYPES: Readonly<Record<ObjectKind, string>> = {
    secret: `${PACKAGE_NAME}:index:SecretBackup`,
    key: `${PACKAGE_NAME}:index:KeyBackup`,
    certificate: `${PACKAGE_NAME}:index:CertificateBackup`,
};

/** The type token of the plugin's `VaultBackup` component. */
export const PLUGIN_VAULT_BACKUP_TYPE = `${PACKAGE_NAME}:index:VaultBackup`;
