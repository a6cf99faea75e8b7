import { strict as assert } from "node:assert";
import * as path from "node:path";
import type { RunningEmulator } from "../../emulator";
import type { PulumiCli, PulumiRun } from "../../scripts/harness/pulumi-cli";
import { azureNativeConfig, secretClientFor, startTestEmulator, uniqueName } from "../helpers/emulator";
import { LocalEngine, type OperationResult } from "../helpers/host";
import { repoRoot } from "../helpers/paths";
import { CliStack, cliSkipNote, emulatorEnv, requireCli } from "../helpers/pulumi-cli";

// The harness's fidelity, measured: the same program and the same sequence of operations through
// scripts/harness (LocalEngine) and through the real Pulumi CLI must give the same step per
// resource and the same outputs in state. A difference found here is a harness bug (the CLI is the
// truth) or is written down in DEVELOPING.md ("Where the harness differs from the CLI").
const PROGRAM = path.join(repoRoot, "dist", "program", "index.js");
const PROJECT = "keyvault-backup";

/** Per resource (`type::name`, the stack left out), the step the operation took, for the backup resources. */
type Steps = Record<string, string>;

function harnessSteps(result: OperationResult): Steps {
    assert.equal(result.error, undefined, `${result.error}\n${result.hostStderr}`);
    return Object.fromEntries(result.steps.filter((s) => s.type.startsWith("pulumi-nodejs:dynamic/")).map((s) => [s.urn.split("::").slice(2).join("::"), s.op]));
}

/** The steps in `pulumi up --json`'s engine events (one JSON object per line). */
function cliSteps(run: PulumiRun): Steps {
    const steps: Steps = {};
    for (const line of run.stdout.split("\n")) {
        if (!line.startsWith("{")) continue;
        const event = JSON.parse(line) as { resOutputsEvent?: { metadata: { op: string; urn: string; type: string } } };
        const m = event.resOutputsEvent?.metadata;
        if (m && m.type.startsWith("pulumi-nodejs:dynamic/")) steps[m.urn.split("::").slice(2).join("::")] = m.op;
    }
    return steps;
}

/** What both keep of a backup resource in state, less what differs between two backups of the same thing (and the destination, a folder of each). */
function comparable(outputs: Record<string, unknown>): Record<string, unknown> {
    const { location, sha256, backedUpAt, sizeBytes, requestId, destination, __provider, ...rest } = outputs;
    return { ...rest, outputNames: Object.keys(outputs).filter((k) => k !== "__provider").sort(), hasLocation: typeof location === "string" && location !== "", hasSha256: /^[0-9a-f]{64}$/.test(String(sha256)) };
}

describe(`the harness against the real Pulumi CLI: same steps and state for the same program${cliSkipNote()}`, function () {
    this.timeout(600_000);
    let cli: PulumiCli;
    let emulator: RunningEmulator;

    before(async function () {
        cli = requireCli(this);
        emulator = await startTestEmulator({ vaults: ["fidelity"] });
    });
    after(async () => emulator?.close());

    it("up, up again, a rotation after refresh, and a removed secret", async () => {
        const names = [uniqueName("fa"), uniqueName("fb")];
        const client = secretClientFor(emulator, "fidelity");
        for (const n of names) await client.setSecret(n, `${n}-value-6a0f`);
        const cliStack = new CliStack(cli, { name: PROJECT, program: PROGRAM }, emulatorEnv(emulator));
        const config = (secrets: string[], folder: string) => ({ vaultUrl: emulator.vaults.fidelity, secrets: JSON.stringify(secrets), destination: folder });
        const creds = azureNativeConfig(emulator, 0);
        await cliStack.init({ ...creds, ...config(names, path.join(cliStack.work, "backups")) });
        const harnessFolder = path.join(cliStack.work, "harness-backups");
        const harness = (secrets: string[]) => new LocalEngine({
            projectRoot: repoRoot, project: PROJECT, stack: "fidelity", program: PROGRAM, statePath: path.join(cliStack.work, "harness-state.json"),
            config: { ...creds, ...Object.fromEntries(Object.entries(config(secrets, harnessFolder)).map(([k, v]) => [`${PROJECT}:${k}`, v])) },
            secretKeys: ["azure-native:clientSecret"], env: emulatorEnv(emulator),
        });
        const cliUp = async () => cliSteps(await cliStack.run(["up", "--yes", "--skip-preview", "--json", "--stack", cliStack.stack]));
        const both = async (label: string, expected: Steps, secrets = names) => {
            const h = harnessSteps(await harness(secrets).up());
            const c = await cliUp();
            assert.deepEqual(c, expected, `${label}: the CLI`);
            assert.deepEqual(h, c, `${label}: the harness took the CLI's steps`);
        };
        const urn = (n: string) => `pulumi-nodejs:dynamic/keyvault:SecretBackup::${n}`;

        await both("first up", { [urn(names[0])]: "create", [urn(names[1])]: "create" });
        // Outputs in state: the same properties, the same values but for the backup's own place, hash and time.
        const exported = JSON.parse(await cliStack.exportText()) as { deployment: { resources: Array<{ type: string; urn: string; outputs: Record<string, unknown> }> } };
        const harnessState = harness(names).state;
        for (const n of names) {
            const fromCli = exported.deployment.resources.find((r) => r.urn.endsWith(urn(n)))!.outputs;
            const fromHarness = harnessState.resources.find((r) => r.urn.endsWith(urn(n)))!.outputs as Record<string, unknown>;
            assert.deepEqual(comparable(fromHarness), comparable(fromCli), `state of ${n}`);
        }

        await both("second up", { [urn(names[0])]: "same", [urn(names[1])]: "same" });

        await client.setSecret(names[0], `${names[0]}-rotated-2c4e`);
        assert.equal((await harness(names).refresh()).error, undefined);
        await cliStack.run(["refresh", "--yes", "--skip-preview", "--stack", cliStack.stack]);
        await both("up after a rotation and refresh", { [urn(names[0])]: "update", [urn(names[1])]: "same" });

        await cliStack.set("secrets", JSON.stringify([names[0]]));
        await both("up without the second secret", { [urn(names[0])]: "same", [urn(names[1])]: "delete" }, [names[0]]);
    });
});
