/**
 * Creates a resource group, a Key Vault and a secret with @pulumi/azure-native, and backs the
 * secret up with SecretBackup. The backup follows the secret's version: setting a new value
 * (`pulumi config set --secret dbPassword ...` then `pulumi up`) makes a new version, and with it
 * a new backup file; earlier backups stay.
 */
import * as pulumi from "@pulumi/pulumi";
// Deep imports keep type-checking and loading fast: the package root pulls in every Azure service.
import * as authorization from "@pulumi/azure-native/authorization";
import * as keyvault from "@pulumi/azure-native/keyvault";
import * as resources from "@pulumi/azure-native/resources";
import { SecretBackup } from "pulumi-keyvault-backup";

const config = new pulumi.Config();
const client = authorization.getClientConfigOutput();

const group = new resources.ResourceGroup("secret-backup-example");

const vault = new keyvault.Vault("backups", {
    resourceGroupName: group.name,
    properties: {
        tenantId: client.tenantId,
        sku: { family: keyvault.SkuFamily.A, name: keyvault.SkuName.Standard },
        // The identity running `pulumi up` may write the secret and back it up (Backup Secret needs `backup`).
        accessPolicies: [{
            tenantId: client.tenantId,
            objectId: client.objectId,
            permissions: { secrets: ["get", "list", "set", "delete", "backup", "restore"] },
        }],
        enableSoftDelete: true,
        softDeleteRetentionInDays: 7,
    },
});

const secret = new keyvault.Secret("db-password", {
    resourceGroupName: group.name,
    vaultName: vault.name,
    secretName: "db-password",
    properties: { value: config.requireSecret("dbPassword") },
});

// One line: vault URL, secret name and current version come from the secret's outputs.
const backup = new SecretBackup("db-password", { secret, destination: "./secret-backups" });

/** The vault's URL. */
export const vaultUrl = vault.properties.vaultUri;
/** Where the latest backup is. */
export const backupLocation = backup.location;
/** Hex SHA-256 of the latest backup blob. */
export const backupSha256 = backup.sha256;
