/**
 * The demo's run, in the child process that trusts the demo CA (see `scripts/demo.ts`): emulator
 * with the seeded vault (its URL kept between runs by the emulator's data folder), optional rotations, the root program, the table, and
 * the restore check. Arguments: the `--rotate` secret names.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { randomBytes } from "node:crypto";
import { startEmulator, type RunningEmulator } from "../../emulator";
import { DEMO_CERTIFICATE, DEMO_KEY, DEMO_SECRETS, DEMO_VAULT, demoDestination, demoPaths, demoRoot, demoSeed, loadSettings, type DemoPaths } from "./settings";
import { runDemoStack } from "./run-stack";
import { backupTable } from "./table";
import { emulatorClients, restoreVaultIntoFreshVault, type VaultClients } from "./restore-check";
import { restoreTable } from "../../provider/recovery/commands";
import { azureNativeConfig } from "../emulator-identity";

const projectRoot = path.resolve(__dirname, "..", "..", "..");
const say = (line = ""): void => void process.stdout.write(`${line}\n`);

const notFound = (e: unknown): boolean => (e as { statusCode?: number }).statusCode === 404;

/**
 * Makes the demo key and certificate when the vault lacks them: a `.demo` from before they were
 * seeded keeps its emulator data, and a seed only applies to a new one. Returns what it made.
 */
async function ensureKeyAndCertificate(clients: VaultClients): Promise<string[]> {
    const made: string[] = [];
    try {
        await clients.keys.getKey(DEMO_KEY);
    } catch (e) {
        if (!notFound(e)) throw e;
        await clients.keys.createRsaKey(DEMO_KEY, { keySize: 2048 });
        made.push(`key "${DEMO_KEY}"`);
    }
    try {
        await clients.certificates.getCertificate(DEMO_CERTIFICATE);
    } catch (e) {
        if (!notFound(e)) throw e;
        const poller = await clients.certificates.beginCreateCertificate(DEMO_CERTIFICATE, { issuerName: "Self", subject: `CN=${DEMO_CERTIFICATE}` }, { intervalInMs: 100 });
        await poller.pollUntilDone();
        made.push(`certificate "${DEMO_CERTIFICATE}"`);
    }
    return made;
}

async function runDemo(paths: DemoPaths, tls: { caCertPath: string; caKeyPath: string }, rotate: string[]): Promise<void> {
    const settings = loadSettings(paths);
    const firstRun = !fs.existsSync(paths.emulatorData);
    let emulator: RunningEmulator | undefined;
    try {
        emulator = await startEmulator({ dataDir: paths.emulatorData, seed: demoSeed(), vaults: [DEMO_VAULT], backupKey: settings.backupKey, tls });
        // The emulator keeps the vault's port in its data folder, so the URL (an input of every backup) stays the same.
        const vaultUrl = emulator.vaults[DEMO_VAULT];
        const objects = `secrets ${DEMO_SECRETS.join(", ")}; key ${DEMO_KEY}; certificate ${DEMO_CERTIFICATE}`;
        say(`Key Vault emulator: vault "${DEMO_VAULT}" at ${vaultUrl} (${firstRun ? "seeded with" : "kept from the last run:"} ${objects}).`);
        const clients = emulatorClients(vaultUrl, emulator);
        const client = clients.secrets;
        const made = await ensureKeyAndCertificate(clients);
        if (made.length) say(`Added ${made.join(" and ")} (this demo folder predates them).`);
        for (const name of rotate) {
            const version = (await client.setSecret(name, randomBytes(18).toString("base64url"))).properties.version;
            say(`Rotated "${name}": new current version ${version}.`);
        }
        const secrets = [];
        for (const name of DEMO_SECRETS) secrets.push({ name, version: String((await client.getSecret(name)).properties.version) });
        const rows = await runDemoStack(projectRoot, paths, {
            program: { vaultUrl, secrets, keys: [DEMO_KEY], certificates: [DEMO_CERTIFICATE], destination: demoDestination(projectRoot, paths.backups) },
            credentials: azureNativeConfig(emulator),
        }, { AZURE_AUTHORITY_HOST: emulator.authorityHost }, say);
        say();
        say(backupTable(rows, projectRoot));
        say();
        const taken = rows.filter((r) => r.takenNow).length;
        say(taken ? `${taken} new backup(s), ${rows.length - taken} unchanged.` : "Nothing new to back up: no secret changed since the last run.");
        const inside = path.relative(projectRoot, paths.backups);
        const backupsShown = inside.startsWith("..") || path.isAbsolute(inside) ? paths.backups : inside;
        say(`Disaster drill: restoring the whole vault from ${backupsShown} alone into a fresh vault ` +
            `(what "secret-backup restore --from ${backupsShown} --vault <url> --all" does):`);
        say();
        const check = await restoreVaultIntoFreshVault({
            folder: paths.backups, sourceVaultUrl: vaultUrl, secretNames: DEMO_SECRETS, keyNames: [DEMO_KEY], certificateNames: [DEMO_CERTIFICATE],
            source: clients, backupKey: settings.backupKey, tls,
        });
        say(restoreTable(check.result).trimEnd());
        say();
        say(`Restore check: restored all ${check.result.counts.restored} objects into a fresh vault; ` +
            `all ${check.versions} secret versions came back with the same ids and values; ` +
            `certificate "${DEMO_CERTIFICATE}" has the same thumbprint (x5t) and DER bytes, and its key signs (verified with the original certificate's public key); ` +
            `key "${DEMO_KEY}" signs and verifies with its original public part.`);
        say(`Run it again: nothing new is backed up unless a secret changed (try: npm run demo -- --rotate api-key).`);
    } finally {
        await emulator?.close();
    }
}

const paths = demoPaths(demoRoot(projectRoot));
runDemo(paths, { caCertPath: path.join(paths.ca, "ca.pem"), caKeyPath: path.join(paths.ca, "ca-key.pem") }, process.argv.slice(2)).catch((e: unknown) => {
    process.stderr.write(`demo failed: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
});
