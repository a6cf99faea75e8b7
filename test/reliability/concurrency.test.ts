import { strict as assert } from "node:assert";
import * as path from "node:path";
import type { RunningEmulator } from "../../emulator";
import { secretClientFor, startTestEmulator, uniqueName } from "../helpers/emulator";
import { uniqueFolder } from "../helpers/program";
import { backupProblem, backupStack, filesIn, locationFile, tally, watchEmulator, watchFolder, watchSecret, watchTokens, type BackupSpec } from "./support";

// 100 SecretBackups of the same secret in one program: one `pulumi up` sends them all to one
// provider host at once. Every backup must land in its own file, and every file must verify.
const VAULT = "concurrent";
const COUNT = 100;

describe("reliability: 100 backups of the same secret at once", function () {
    this.timeout(120_000);
    let emulator: RunningEmulator;

    before(async () => {
        emulator = await startTestEmulator({ vaults: [VAULT] });
        watchEmulator(emulator);
        await watchTokens(emulator);
    });
    after(async () => emulator?.close());

    it("give 100 distinct files that all verify, with the calls really in flight together", async () => {
        const secretName = uniqueName("shared");
        const value = `shared-value-${uniqueName("v")}`;
        watchSecret("value of the shared secret", value);
        await secretClientFor(emulator, VAULT).setSecret(secretName, value);
        const folder = uniqueFolder("concurrency");
        watchFolder(folder);
        const specs: BackupSpec[] = Array.from({ length: COUNT }, (_, i) => ({
            name: `copy-${i}`,
            args: { vaultUrl: emulator.vaults[VAULT], secretName, destination: folder },
        }));
        // Every answer takes 300 ms, so calls that overlap show up as pending together in the log.
        emulator.faults.add({ vault: VAULT, operation: "backup", kind: "delay", ms: 300, count: COUNT });
        const stack = backupStack(emulator, specs);
        let maxInFlight = 0;
        let done = false;
        const sampler = (async () => {
            while (!done) {
                const pending = emulator.requests().filter((r) => r.operation === "backup" && r.status === 0).length;
                maxInFlight = Math.max(maxInFlight, pending);
                await new Promise((r) => setTimeout(r, 10));
            }
        })();
        const started = Date.now();
        const up = await stack.up().finally(() => (done = true));
        await sampler;
        const seconds = (Date.now() - started) / 1000;
        emulator.faults.clear();
        assert.equal(up.error, undefined, up.error);

        const states = stack.backups();
        assert.equal(states.length, COUNT, "every backup is in state");
        const locations = new Set(states.map((s) => String(s.outputs.location)));
        assert.equal(locations.size, COUNT, "100 distinct locations");
        const problems = states.map(backupProblem).filter(Boolean);
        assert.deepEqual(problems, [], "every file hashes to its state's sha256");
        const names = filesIn(folder);
        assert.deepEqual(names, states.map((s) => path.basename(locationFile(s))).sort(), "exactly these 100 files, no temporary or extra file");
        const answered = emulator.requests().filter((r) => r.path === `/secrets/${secretName}/backup` && r.status === 200).length;
        assert.equal(answered, COUNT, "one Backup Secret call per resource");
        assert.ok(maxInFlight >= 10, `calls overlapped (at most ${maxInFlight} in flight)`);
        tally.concurrency = { backups: COUNT, distinctFiles: names.length, verified: COUNT - problems.length, maxInFlight, seconds };
        process.stdout.write(`      (${COUNT} backups in ${seconds.toFixed(1)} s, up to ${maxInFlight} Backup Secret calls in flight)\n`);
    });
});
