import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { createHash } from "node:crypto";
import { fileURLToPath } from "node:url";
import type { RunningEmulator } from "../../emulator";
import { azureNativeConfig, secretClientFor, startTestEmulator, uniqueName } from "../helpers/emulator";
import { LocalEngine, dynamicOps } from "../helpers/host";
import { repoRoot } from "../helpers/paths";

// examples/local as Pulumi would run it: from its own folder (the host's working directory too),
// through the index.js Pulumi loads, against the emulator.
const exampleRoot = path.join(repoRoot, "examples", "local");

describe("examples/local through the real provider host", function () {
    this.timeout(120_000);
    let emulator: RunningEmulator;
    const written: string[] = [];

    // The example's README links the repository's node_modules into it (the plugin wrapper looks in
    // ./node_modules of the project folder); do the same when it is not there, and undo it after.
    const link = path.join(exampleRoot, "node_modules");
    const backupsDir = path.join(exampleRoot, "secret-backups");
    let linked = false;
    let madeBackupsDir = false;

    before(async () => {
        if (!fs.existsSync(link)) {
            fs.symlinkSync(path.join("..", "..", "node_modules"), link);
            linked = true;
        }
        madeBackupsDir = !fs.existsSync(backupsDir);
        emulator = await startTestEmulator({ vaults: ["example"] });
    });
    after(async () => {
        for (const file of written) fs.rmSync(file, { force: true });
        if (linked) fs.unlinkSync(link);
        if (madeBackupsDir) fs.rmSync(backupsDir, { recursive: true, force: true });
        await emulator?.close();
    });

    it("backs the secret up into the example's own secret-backups folder and exports its location and hash", async () => {
        const secretName = uniqueName("example");
        await secretClientFor(emulator, "example").setSecret(secretName, "example-value");
        const stack = new LocalEngine({
            projectRoot: exampleRoot, project: "keyvault-backup-local", stack: "dev", program: path.join(exampleRoot, "index.js"),
            config: azureNativeConfig(emulator, 0, {
                "keyvault-backup-local:vaultUrl": emulator.vaults.example,
                "keyvault-backup-local:secretName": secretName,
            }),
            env: { AZURE_AUTHORITY_HOST: emulator.authorityHost },
        });
        const up = await stack.up();
        assert.equal(up.error, undefined, up.hostStderr);
        assert.deepEqual(dynamicOps(up), ["create"]);
        const file = fileURLToPath(String(up.exports.location));
        written.push(file);
        assert.equal(path.dirname(file), path.join(exampleRoot, "secret-backups"));
        assert.equal(up.exports.sha256, createHash("sha256").update(fs.readFileSync(file)).digest("hex"));
    });
});
