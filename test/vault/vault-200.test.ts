import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import { createHash } from "node:crypto";
import { fileURLToPath } from "node:url";
import type { RunningEmulator } from "../../emulator";
import { VaultBackup } from "../../provider/vault-backup";
import { azureNativeConfig, pointAuthorityHostAt, startTestEmulator, uniqueName } from "../helpers/emulator";
import { LocalEngine, OperationResult, dynamicOps } from "../helpers/host";
import { uniqueFolder } from "../helpers/program";
import { repoRoot } from "../helpers/paths";

// A 200-secret vault backed up by one VaultBackup through the real provider host, with the
// emulator enforcing Key Vault's throttling: at the service's own limits, and at limits scaled
// below the vault's size, where only the provider's per-vault pacing keeps it from 429s.
const SECRETS = 200;
const names = Array.from({ length: SECRETS }, (_, i) => `app-secret-${String(i + 1).padStart(3, "0")}`);

describe(`VaultBackup of a ${SECRETS}-secret vault, throttled like Key Vault`, function () {
    this.timeout(300_000);
    let emulator: RunningEmulator;
    let restoreAuthorityHost = (): void => undefined;

    before(async () => {
        const secrets = Object.fromEntries(names.map((n, i) => [n, `value-${i}-${n}`]));
        emulator = await startTestEmulator({
            seed: { vaults: { "big-vault": { secrets }, "big-vault-scaled": { secrets } } },
            throttle: {}, // the service's limits: 4,000 operations and 300 creations per vault per 10 s
        });
        restoreAuthorityHost = pointAuthorityHostAt(emulator);
    });
    after(async () => {
        restoreAuthorityHost();
        await emulator?.close();
    });

    function stack(vault: string, folder: string, config: Record<string, string> = {}): LocalEngine {
        return new LocalEngine({
            projectRoot: repoRoot,
            project: "vault-200-test",
            stack: uniqueName("st"),
            program: () => {
                const backup = new VaultBackup("big", { vaultUrl: emulator.vaults[vault], destination: folder });
                return { locations: backup.locations, hashes: backup.hashes };
            },
            config: azureNativeConfig(emulator, 0, config),
            secretKeys: ["azure-native:clientSecret"],
            env: { AZURE_AUTHORITY_HOST: emulator.authorityHost },
        });
    }

    const count = (vault: string, status: number, op = "backup"): number =>
        emulator.requests().filter((r) => r.vault === vault && r.operation === op && r.status === status).length;

    function assertAllBackedUp(up: OperationResult): void {
        assert.equal(up.error, undefined, `${up.error}\nhost stderr: ${up.hostStderr.slice(-2000)}`);
        assert.deepEqual(dynamicOps(up), Array(SECRETS).fill("create"));
        const locations = up.exports.locations as Record<string, string>;
        const hashes = up.exports.hashes as Record<string, string>;
        assert.deepEqual(Object.keys(locations).sort(), names);
        for (const name of names) {
            const bytes = fs.readFileSync(fileURLToPath(locations[name]));
            assert.equal(createHash("sha256").update(bytes).digest("hex"), hashes[name], name);
        }
    }

    it(`backs up all ${SECRETS} secrets in one up at the service's limits, then a second up takes none`, async () => {
        const folder = uniqueFolder("vault-200");
        const s = stack("big-vault", folder);
        const started = Date.now();
        const up = await s.up();
        const seconds = (Date.now() - started) / 1000;
        assertAllBackedUp(up);
        assert.equal(count("big-vault", 200), SECRETS);
        assert.equal(count("big-vault", 429), 0);
        assert.equal(fs.readdirSync(folder).length, SECRETS);
        const times = emulator.requests().filter((r) => r.vault === "big-vault" && r.operation === "backup" && r.status === 200).map((r) => r.time);
        const backupSeconds = (Math.max(...times) - Math.min(...times)) / 1000;
        console.log(`      ${SECRETS}-secret vault: up ${seconds.toFixed(1)} s (host start, program and listing, ${SECRETS} check+create; the backups themselves over ${backupSeconds.toFixed(1)} s)`);

        const again = await s.up();
        assert.equal(again.error, undefined);
        assert.deepEqual(dynamicOps(again), Array(SECRETS).fill("same"));
        assert.equal(count("big-vault", 200), SECRETS, "no backup taken");
    });

    // Headroom below the limit: the listing's pages, and the SDK's unauthenticated first request
    // (answered 401) of each call that starts before the client has a token, which pacing cannot see.
    it("with the vault's limit scaled below its size (185 per 10 s), pacing at 140 per 10 s backs up all 200 without a single 429", async () => {
        emulator.faults.setThrottle({ operations: 185, creations: 300, windowMs: 10_000 });
        try {
            const folder = uniqueFolder("vault-200-scaled");
            const s = stack("big-vault-scaled", folder, { "secret-backup:vaultOperationsPer10Seconds": "140" });
            const started = Date.now();
            const up = await s.up();
            const seconds = (Date.now() - started) / 1000;
            assertAllBackedUp(up);
            assert.equal(count("big-vault-scaled", 429), 0, "the pacing kept every request under the limit");
            assert.equal(count("big-vault-scaled", 429, "list"), 0);
            // 14 at once, then 14 per second: the pacing spread the backups out.
            const times = emulator.requests().filter((r) => r.vault === "big-vault-scaled" && r.operation === "backup").map((r) => r.time);
            const spreadSeconds = (Math.max(...times) - Math.min(...times)) / 1000;
            assert.ok(spreadSeconds >= (SECRETS - 14) / 14 - 1, `backups spread over ${spreadSeconds} s`);
            console.log(`      ${SECRETS} secrets against a 185-per-10-s vault, paced at 140 per 10 s: up ${seconds.toFixed(1)} s (backups over ${spreadSeconds.toFixed(1)} s), 0 throttled`);
        } finally {
            emulator.faults.setThrottle({});
        }
    });
});
