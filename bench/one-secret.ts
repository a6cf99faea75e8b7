/**
 * The way people back up a secret today, as one process per secret: build a
 * `ClientSecretCredential` from AZURE_* variables, call Backup Secret with the SDK, write the blob
 * to a file. Usage: node one-secret.js <vaultUrl> <secretName> <outFile>. The bench's shell loop
 * starts it once per secret.
 */
import * as fs from "node:fs";
import { ClientSecretCredential } from "@azure/identity";
import { SecretClient } from "@azure/keyvault-secrets";

async function main(): Promise<void> {
    const [vaultUrl, secretName, outFile] = process.argv.slice(2);
    if (!vaultUrl || !secretName || !outFile) throw new Error("usage: one-secret <vaultUrl> <secretName> <outFile>");
    const env = (name: string): string => {
        const value = process.env[name];
        if (!value) throw new Error(`${name} is not set`);
        return value;
    };
    const loopback = ["127.0.0.1", "localhost", "[::1]"].includes(new URL(vaultUrl).hostname);
    const credential = new ClientSecretCredential(env("AZURE_TENANT_ID"), env("AZURE_CLIENT_ID"), env("AZURE_CLIENT_SECRET"), {
        authorityHost: process.env.AZURE_AUTHORITY_HOST,
        disableInstanceDiscovery: loopback, // the emulator's authority is not a public cloud
    });
    // The challenge's resource is vault.azure.net, which a loopback host cannot match.
    const client = new SecretClient(vaultUrl, credential, { disableChallengeResourceVerification: loopback });
    const blob = await client.backupSecret(secretName);
    if (!blob) throw new Error(`Key Vault returned no backup for ${secretName}`);
    fs.writeFileSync(outFile, blob, { flag: "wx", mode: 0o600 });
}

main().catch((e: Error) => {
    process.stderr.write(`backup failed: ${e.message}\n`);
    process.exit(1);
});
