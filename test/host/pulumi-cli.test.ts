import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import type { RunningEmulator } from "../../emulator";
import { findPulumi, runPulumi } from "../../scripts/harness/pulumi-cli";
import { secretClientFor, startTestEmulator, uniqueName } from "../helpers/emulator";
import { uniqueFolder } from "../helpers/program";
import { repoRoot } from "../helpers/paths";

// The same path through the real Pulumi CLI, where one is installed. This machine has none, so
// here these tests are skipped and say so; the host harness tests cover the provider's side.
const pulumi = findPulumi();

describe(`the root program through the pulumi CLI${pulumi ? "" : " (skipped: no pulumi CLI on PATH)"}`, function () {
    this.timeout(300_000);
    let emulator: RunningEmulator;

    before(async function () {
        if (!pulumi) return this.skip();
        emulator = await startTestEmulator({ vaults: ["clivault"] });
    });
    after(async () => emulator?.close());

    it("preview, up, up again, refresh and destroy with a local file backend", async () => {
        const secretName = uniqueName("cli");
        await secretClientFor(emulator, "clivault").setSecret(secretName, "cli-value");
        const work = uniqueFolder("pulumi-cli");
        const folder = path.join(work, "backups");
        const stack = uniqueName("st");
        const configFile = ["--config-file", path.join(work, `Pulumi.${stack}.yaml`), "--stack", stack];
        const cli = { pulumi: pulumi!, projectRoot: repoRoot, backendDir: path.join(work, "state"), passphrase: "test", env: { AZURE_AUTHORITY_HOST: emulator.authorityHost } };
        runPulumi(cli, ["stack", "init", stack]);
        const p = emulator.principals[0];
        const config: [string, string][] = [
            ["vaultUrl", emulator.vaults.clivault], ["secrets", JSON.stringify([secretName])], ["destination", folder],
            ["azure-native:clientId", p.clientId], ["azure-native:tenantId", emulator.tenantId],
        ];
        for (const [k, v] of config) runPulumi(cli, ["config", "set", k, v, ...configFile]);
        runPulumi(cli, ["config", "set", "--secret", "azure-native:clientSecret", p.clientSecret, ...configFile]);
        runPulumi(cli, ["preview", ...configFile]);
        assert.equal(fs.existsSync(folder), false, "preview wrote nothing");
        runPulumi(cli, ["up", "--yes", ...configFile]);
        assert.equal(fs.readdirSync(folder).length, 1);
        runPulumi(cli, ["up", "--yes", ...configFile]);
        assert.equal(fs.readdirSync(folder).length, 1, "a second up takes no new backup");
        runPulumi(cli, ["refresh", "--yes", ...configFile]);
        runPulumi(cli, ["destroy", "--yes", ...configFile]);
        assert.equal(fs.readdirSync(folder).length, 1, "destroy keeps the backup");
        runPulumi(cli, ["stack", "rm", "--yes", stack]);
    });
});
