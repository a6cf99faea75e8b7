import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import type { RunningEmulator } from "../../emulator";
import { SecretBackup } from "../../provider/resource";
import { startTestEmulator, uniqueName } from "../helpers/emulator";
import { ProviderHost, assertGone } from "../helpers/host";
import { runProgram, uniqueFolder } from "../helpers/program";
import { repoRoot } from "../helpers/paths";
import { backupStack, exposeText, filesIn, makeUnwritable, tally, watchEmulator, watchFolder, watchSecret } from "./support";

// Malformed inputs, each sent to Check through the real dynamic-provider host with the inputs a
// real program registers (`__provider` included): each must come back as a failure naming the
// property, and the emulator's request log must show that nothing reached the vault.
const VAULT = "badinput";
const PASSWORD = "Pw-9f2c1d7e5b3a4c6d";
const SAS_SIGNATURE = "sig-3e9a0b1c7d5f2e8a";

interface BadInput {
    label: string;
    property: string;
    /** The value of `property`; `undefined` removes it. */
    value: unknown;
    /** A pattern the reason must match (it says what is wrong, not only that something is). */
    reason: RegExp;
}


describe("reliability: bad input is refused at Check, before any vault request", function () {
    this.timeout(60_000);
    let emulator: RunningEmulator;
    let host: ProviderHost;
    let base: Record<string, unknown>;
    let urn: string;
    let cases: BadInput[];
    const readonlyFolder = uniqueFolder("bad-readonly");
    let undoReadonly: (() => void) | undefined;
    const scratch = uniqueFolder("bad-input");

    before(async () => {
        emulator = await startTestEmulator({ vaults: [VAULT] });
        watchEmulator(emulator);
        watchSecret("password in a vault URL", PASSWORD);
        watchSecret("SAS signature in a destination", SAS_SIGNATURE);
        fs.mkdirSync(scratch, { recursive: true });
        watchFolder(scratch);
        const existingFile = path.join(scratch, "a-file");
        fs.writeFileSync(existingFile, "not a folder");
        fs.mkdirSync(readonlyFolder, { recursive: true });
        undoReadonly = makeUnwritable(readonlyFolder);
        if (!undoReadonly) process.stdout.write(`      (this machine cannot make a folder unwritable for root: that case is left out)\n`);
        const vaultUrl = emulator.vaults[VAULT];
        const port = new URL(vaultUrl).port;

        // What a real program registers for a well-formed SecretBackup: the cases change one property.
        const run = await runProgram(() => new SecretBackup("good", { vaultUrl, secretName: "db-password", destination: path.join(scratch, "out") }), {
            project: "reliability", stack: "bad", config: {}, preview: true, register: async (reg) => ({ id: "", state: reg.inputs }),
        });
        const reg = run.registrations.find((r) => r.type.endsWith(":SecretBackup"))!;
        base = reg.inputs;
        urn = reg.urn;

        cases = [
            // vaultUrl
            { label: "http, not https", property: "vaultUrl", value: `http://127.0.0.1:${port}`, reason: /must use https/ },
            { label: "no host", property: "vaultUrl", value: "https://", reason: /not a URL/ },
            { label: "no host, only a path", property: "vaultUrl", value: "https:///secrets", reason: /not a URL|not a Key Vault host/ },
            { label: "with a path", property: "vaultUrl", value: "https://myvault.vault.azure.net/secrets/db", reason: /base URL only/ },
            { label: "with a query", property: "vaultUrl", value: `https://myvault.vault.azure.net/?token=${PASSWORD}`, reason: /base URL only/ },
            { label: "with credentials", property: "vaultUrl", value: `https://admin:${PASSWORD}@myvault.vault.azure.net`, reason: /base URL only/ },
            { label: "with a fragment", property: "vaultUrl", value: "https://myvault.vault.azure.net#x", reason: /base URL only/ },
            { label: "not a Key Vault host", property: "vaultUrl", value: "https://example.com", reason: /not a Key Vault host/ },
            { label: "Key Vault suffix inside another domain", property: "vaultUrl", value: "https://myvault.vault.azure.net.evil.example", reason: /not a Key Vault host/ },
            { label: "look-alike Unicode vault name (Cyrillic у)", property: "vaultUrl", value: "https://m\u0443vault.vault.azure.net", reason: /not a valid vault name/ },
            { label: "look-alike Unicode suffix (Cyrillic а)", property: "vaultUrl", value: "https://myvault.v\u0430ult.azure.net", reason: /not a Key Vault host/ },
            { label: "another scheme", property: "vaultUrl", value: "ftp://myvault.vault.azure.net", reason: /must use https/ },
            { label: "vault name too short", property: "vaultUrl", value: "https://ab.vault.azure.net", reason: /not a valid vault name/ },
            { label: "not a URL at all", property: "vaultUrl", value: "my vault", reason: /not a URL/ },
            { label: "missing", property: "vaultUrl", value: undefined, reason: /vaultUrl is required/ },
            // secretName
            { label: "empty", property: "secretName", value: "", reason: /secretName is required/ },
            { label: "128 characters", property: "secretName", value: "a".repeat(128), reason: /1-127 characters/ },
            { label: "spaces", property: "secretName", value: "db password", reason: /not a valid secret name/ },
            { label: "path traversal", property: "secretName", value: "../db-password", reason: /not a valid secret name/ },
            { label: "Unicode", property: "secretName", value: "pässwörd", reason: /not a valid secret name/ },
            { label: "a slash", property: "secretName", value: "db/password", reason: /not a valid secret name/ },
            { label: "a number", property: "secretName", value: 42, reason: /secretName is required/ },
            // secretVersion
            { label: "traversal as a version", property: "secretVersion", value: "../../keys", reason: /not a secret version/ },
            // apiVersion
            { label: "an old version", property: "apiVersion", value: "2016-10-01", reason: /not an API version this provider supports/ },
            { label: "a preview suffix", property: "apiVersion", value: "7.4-preview", reason: /not an API version this provider supports/ },
            { label: "a future version", property: "apiVersion", value: "8.0", reason: /not an API version this provider supports/ },
            { label: "a number that is no version", property: "apiVersion", value: 7.9, reason: /not an API version this provider supports/ },
            // triggers
            { label: "not a list", property: "triggers", value: "rotate", reason: /must be a list/ },
            { label: "a huge list (5,000 values)", property: "triggers", value: Array.from({ length: 5000 }, (_, i) => i), reason: /at most 1000/ },
            { label: "a huge value (200 KB)", property: "triggers", value: ["x".repeat(200_000)], reason: /bytes as JSON/ },
            // destination
            { label: "an existing file", property: "destination", value: existingFile, reason: /exists and is not a folder/ },
            { label: "traversal", property: "destination", value: "./secret-backups/../../outside", reason: /must not contain "\.\." segments/ },
            { label: "traversal in a file:// URL", property: "destination", value: `file://${scratch}/%2e%2e/%2e%2e/outside`, reason: /must not contain "\.\." segments/ },
            { label: "traversal onto a file", property: "destination", value: `${scratch}/../../../../etc/passwd`, reason: /must not contain "\.\." segments/ },
            ...(undoReadonly ? [{ label: "an unwritable folder", property: "destination", value: path.join(readonlyFolder, "backups"), reason: /not writable/ }] : []),
            { label: "a folder of /proc", property: "destination", value: "/proc/self/backups", reason: /pseudo file system that cannot hold backup files/ },
            { label: "scheme s3://", property: "destination", value: "s3://bucket/backups", reason: /scheme "s3:" is not supported/ },
            { label: "scheme ftp:// with credentials", property: "destination", value: `ftp://admin:${PASSWORD}@files.example.com/backups`, reason: /scheme "ftp:" is not supported/ },
            { label: "file:// on another host", property: "destination", value: "file://fileserver/backups", reason: /not a usable path/ },
            { label: "blank", property: "destination", value: "   ", reason: /must be a folder path/ },
            { label: "Blob URL on a non-Storage host", property: "destination", value: "https://storage.example.com/backups", reason: /not a Blob Storage endpoint/ },
            { label: "Blob URL over http", property: "destination", value: "http://127.0.0.1:10000/devstoreaccount1/backups", reason: /must use https/ },
            { label: "Blob URL with a SAS token", property: "destination", value: `https://acct.blob.core.windows.net/backups?sv=2022-11-02&sig=${SAS_SIGNATURE}`, reason: /query string/ },
            { label: "Blob URL without a container", property: "destination", value: "https://acct.blob.core.windows.net/", reason: /names no container/ },
        ];

        host = await ProviderHost.start({ projectRoot: repoRoot, project: "reliability", config: {} });
        await host.configure({});
    });

    after(async () => {
        await host?.stop();
        if (host) assertGone(host.pid);
        undoReadonly?.();
        await emulator?.close();
    });

    it("has at least 30 cases covering every property", () => {
        assert.ok(cases.length >= 30, `${cases.length} cases`);
        assert.deepEqual([...new Set(cases.map((c) => c.property))].sort(), ["apiVersion", "destination", "secretName", "secretVersion", "triggers", "vaultUrl"]);
    });

    it("every case comes back from Check as one failure naming its property with a reason, and no request reaches the vault", async () => {
        const before = emulator.requests().length;
        const wrong: string[] = [];
        for (const c of cases) {
            const news = { ...base };
            if (c.value === undefined) delete news[c.property];
            else news[c.property] = c.value;
            tally.badInputsTried++;
            const { failures } = await host.check(urn, {}, news);
            exposeText(`check failures for ${c.property}: ${c.label}`, JSON.stringify(failures));
            const mine = failures.filter((f) => f.property === c.property);
            const others = failures.filter((f) => f.property !== c.property);
            if (mine.length !== 1 || others.length) wrong.push(`${c.property} (${c.label}): ${JSON.stringify(failures)}`);
            else if (!c.reason.test(mine[0].reason)) wrong.push(`${c.property} (${c.label}): reason ${JSON.stringify(mine[0].reason)} does not match ${c.reason}`);
            else tally.badInputsRefused++;
        }
        assert.deepEqual(wrong, []);
        assert.equal(emulator.requests().length, before, "no request reached the vault");
        assert.ok(!host.stdout().includes(PASSWORD) && !host.stderr().includes(PASSWORD));
    });

    it("the same well-formed inputs pass Check (the cases fail for their one bad property, not for the base)", async () => {
        const { failures } = await host.check(urn, {}, base);
        assert.deepEqual(failures, []);
    });

    it("up with bad input fails naming the property: nothing is backed up, nothing written, nothing in state", async () => {
        const folder = path.join(scratch, "up");
        const before = emulator.requests().length;
        const stack = backupStack(emulator, [
            { name: "bad-name", args: { vaultUrl: emulator.vaults[VAULT], secretName: "../db", destination: folder } },
            { name: "bad-vault", args: { vaultUrl: `https://admin:${PASSWORD}@myvault.vault.azure.net`, secretName: uniqueName("ok"), destination: folder } },
        ]);
        const up = await stack.up();
        // The two resources are checked concurrently, so either may be the one that stops the up;
        // whichever it is, its error names its own bad property.
        const error = up.error ?? "";
        const named = [
            /::bad-name has invalid inputs:\n\s+secretName: "\.\.\/db" is not a valid secret name/,
            /::bad-vault has invalid inputs:\n\s+vaultUrl: \S/,
        ];
        assert.ok(named.some((re) => re.test(error)), `the error names a bad resource and its property: ${error}`);
        assert.ok(!(up.error ?? "").includes(PASSWORD), "the password in the URL is not repeated");
        assert.deepEqual(stack.backups(), []);
        assert.deepEqual(filesIn(folder), []);
        assert.equal(emulator.requests().length, before, "no request reached the vault");
    });
});
