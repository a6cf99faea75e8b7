/**
 * The program of the bench's VaultBackup phase, run by the harness in its own process as Pulumi's
 * language host runs a program: one `VaultBackup` of the vault in stack config `vaultUrl`, secrets
 * only, into the folder in `destination`.
 */
import * as pulumi from "@pulumi/pulumi";
import { VaultBackup } from "../provider/vault-backup";

const config = new pulumi.Config();
const backup = new VaultBackup("vault", { vaultUrl: config.require("vaultUrl"), destination: config.require("destination"), kinds: ["secret"] });

/** How many secrets the vault listed. */
export const count = backup.secretNames.apply((names) => names.length);
