/**
 * The root Pulumi program (`Pulumi.yaml` points here): one `SecretBackup` per secret, one
 * `KeyBackup` per key and one `CertificateBackup` per certificate named in the stack config, all
 * to the same destination. Exports `backups` (secrets), `keyBackups` and `certificateBackups`:
 * per object name, where its latest backup is, its sha256 and size.
 */
import * as pulumi from "@pulumi/pulumi";
import { CertificateBackup, KeyBackup, SecretBackup } from "../provider/resource";
import { readProgramConfig } from "./config";

const config = readProgramConfig();

/** One exported backup: the latest backup's location (URL), sha256 (hex) and size in bytes. */
export type BackupSummary = pulumi.Output<{ location: string; sha256: string; sizeBytes: number }>;

function summary(backup: SecretBackup | KeyBackup | CertificateBackup): BackupSummary {
    return pulumi.all([backup.location, backup.sha256, backup.sizeBytes]).apply(([location, sha256, sizeBytes]) => ({ location, sha256, sizeBytes }));
}

const common = { vaultUrl: config.vaultUrl, destination: config.destination, triggers: config.triggers };

/** Per secret name: its latest backup (see `BackupSummary`). */
export const backups: Record<string, BackupSummary> = {};
for (const secret of config.secrets) {
    backups[secret.name] = summary(new SecretBackup(secret.name, { ...common, secretName: secret.name, secretVersion: secret.version }));
}

/** Per key name: its latest backup (see `BackupSummary`). */
export const keyBackups: Record<string, BackupSummary> = {};
for (const name of config.keys) keyBackups[name] = summary(new KeyBackup(name, { ...common, keyName: name }));

/** Per certificate name: its latest backup (see `BackupSummary`). */
export const certificateBackups: Record<string, BackupSummary> = {};
for (const name of config.certificates) certificateBackups[name] = summary(new CertificateBackup(name, { ...common, certificateName: name }));
