/**
 * The root Pulumi program (`Pulumi.yaml` points here): one `SecretBackup` per secret named in the
 * stack config, all to the same destination. Exports `backups`: per secret, where its latest
 * backup is, its sha256 and size.
 */
import * as pulumi from "@pulumi/pulumi";
import { SecretBackup } from "../provider/resource";
import { readProgramConfig } from "./config";

const config = readProgramConfig();

/** Per secret name: the latest backup's location (URL), sha256 (hex) and size in bytes. */
export const backups: Record<string, pulumi.Output<{ location: string; sha256: string; sizeBytes: number }>> = {};

for (const secret of config.secrets) {
    const backup = new SecretBackup(secret.name, {
        vaultUrl: config.vaultUrl,
        secretName: secret.name,
        secretVersion: secret.version,
        destination: config.destination,
        triggers: config.triggers,
    });
    backups[secret.name] = pulumi
        .all([backup.location, backup.sha256, backup.sizeBytes])
        .apply(([location, sha256, sizeBytes]) => ({ location, sha256, sizeBytes }));
}
