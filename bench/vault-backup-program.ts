/**
 * The program of the bench's VaultBackup phase, run by the harness in its own process as Pulumi's
 * language host runs a program, in the project where the packed package is installed: one
 * `VaultBackup` of the vault in stack config `vaultUrl`, secrets only, into the folder in
 * `destination`. Both modules come from that project's node_modules, as in a user's program (the
 * runner there is the project's own `@pulumi/pulumi`, and a second copy would be another runtime).
 */
import type * as Pulumi from "@pulumi/pulumi";
import type { VaultBackup as VaultBackupClass } from "../provider/vault-backup";

const fromProject = (id: string): string => require.resolve(id, { paths: [process.cwd()] });
const pulumi = require(fromProject("@pulumi/pulumi")) as typeof Pulumi;
const { VaultBackup } = require(fromProject("pulumi-keyvault-backup")) as { VaultBackup: typeof VaultBackupClass };

const config = new pulumi.Config();
const backup = new VaultBackup("vault", { vaultUrl: config.require("vaultUrl"), destination: config.require("destination"), kinds: ["secret"] });

/** How many secrets the vault listed. */
export const count = backup.secretNames.apply((names) => names.length);
