/**
 * A separate client process for the CLI test: given the emulator's ready line, backs up and restores
 * a secret with the real SDK. It trusts the emulator only through NODE_EXTRA_CA_CERTS=caCertPath.
 * Prints one JSON line with what it saw.
 */
import { SecretClient } from "@azure/keyvault-secrets";
import type { RunningEmulator } from "../../emulator";
import { credentialFor } from "../helpers/emulator";

async function main(): Promise<void> {
    const ready = JSON.parse(process.argv[2]) as {
        vaults: Record<string, string>;
        authorityHost: string;
        tenantId: string;
        principals: RunningEmulator["principals"];
    };
    const client = new SecretClient(Object.values(ready.vaults)[0], credentialFor(ready), { disableChallengeResourceVerification: true });
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
