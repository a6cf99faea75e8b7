/**
 * The smallest useful program: back up one secret of a vault (here the local emulator's) to a
 * folder next to this project, and export where the backup is and its hash.
 */
import * as pulumi from "@pulumi/pulumi";
// In your own project: import { SecretBackup } from "pulumi-keyvault-backup";
import { SecretBackup } from "../../index";

const config = new pulumi.Config();

const backup = new SecretBackup("db-password", {
    vaultUrl: config.require("vaultUrl"),
    secretName: config.get("secretName") ?? "db-password",
    destination: "./secret-backups",
});

/** The backup file's URL. */
export const location = backup.location;
/** Hex SHA-256 of the backup blob. */
export const sha256 = backup.sha256;
