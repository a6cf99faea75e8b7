/**
 * A separate client process for the CLI test: given the emulator's ready line, backs up and restores
 * a secret with the real SDK. It trusts the emulator only through NODE_EXTRA_CA_CERTS=caCertPath.
 * Prints one JSON line with what it saw.
 */
import { ClientSecretCredential } from "@azure/identity";
import { SecretClient } from "@azure/keyvault-secrets";

async function main(): Promise<void> {
    const ready = JSON.parse(process.argv[2]) as {
        vaults: Record<string, string>;
        authorityHost: string;
        tenantId: string;
        principals: { clientId: string; clientSecret: string }[];
    };
    const p = ready.principals[0];
    const credential = new ClientSecretCredential(ready.tenantId, p.clientId, p.clientSecret, { authorityHost: ready.authorityHost, disableInstanceDiscovery: true });
    const client = new SecretClient(Object.values(ready.vaults)[0], credential, { disableChallengeResourceVerification: true });
    const set = await client.setSecret("from-child", "child-value");
    const blob = await client.backupSecret("from-child");
    await (await client.beginDeleteSecret("from-child", { intervalInMs: 10 })).pollUntilDone();
    await client.purgeDeletedSecret("from-child");
    const restored = await client.restoreSecretBackup(blob!);
    const got = await client.getSecret("from-child");
    process.stdout.write(JSON.stringify({ sameVersion: restored.version === set.properties.version, value: got.value }) + "\n");
}

main().catch((e: Error) => {
    process.stderr.write(`${e.message}\n`);
    process.exit(1);
});
