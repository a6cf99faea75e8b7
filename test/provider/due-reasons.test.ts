import { strict as assert } from "node:assert";
import { dueReasons, listedInHeldSecond } from "../../provider/operations";

// When a new backup is due, from state and new inputs alone (no vault): what `diff` decides and logs.
describe("dueReasons: when a new backup is due, and why", () => {
    const inputs = { vaultUrl: "https://myvault.vault.azure.net", secretName: "db", destination: "./b", secretVersion: "", triggers: [], apiVersion: "7.4" };
    // State as main (5cfac6c) wrote it: no version, no versionUpdatedOn, no sourceUpdatedOn.
    const upgraded = { ...inputs, sha256: "ab".repeat(32), location: "file:///b/x.kvbackup", sizeBytes: 1, backedUpAt: "2026-11-30T10:00:00.000Z", requestId: "r" };
    const current = { ...upgraded, version: "v1", versionUpdatedOn: "2026-11-30T09:59:59.000Z" };

    it("nothing is due when nothing changed, and when VaultBackup first passes sourceUpdatedOn to an upgraded stack", () => {
        assert.deepEqual(dueReasons(upgraded, inputs), { keys: [], reasons: [] });
        assert.deepEqual(dueReasons(upgraded, { ...inputs, sourceUpdatedOn: "2026-11-30T09:00:00.000Z" }), { keys: [], reasons: [] });
        assert.deepEqual(dueReasons(current, { ...inputs, sourceUpdatedOn: "2026-11-30T09:59:59.000Z" }), { keys: [], reasons: [] });
    });

    it("a listing time after the version held is a new version: compared with versionUpdatedOn, else backedUpAt", () => {
        const later = { ...inputs, sourceUpdatedOn: "2026-11-30T10:00:05.000Z" };
        assert.deepEqual(dueReasons(current, later).keys, ["sourceUpdatedOn"]);
        assert.match(dueReasons(current, later).reasons[0], /the vault lists it as changed at 2026-11-30T10:00:05\.000Z, after the version the backup holds \(2026-11-30T09:59:59\.000Z\)/);
        assert.deepEqual(dueReasons(upgraded, later).keys, ["sourceUpdatedOn"]);
        assert.deepEqual(dueReasons(upgraded, { ...inputs, sourceUpdatedOn: "2026-11-30T09:59:00.000Z" }).keys, []);
    });

    it("changed inputs, a missing stored backup and a newer version found by refresh each give their reason", () => {
        const r = dueReasons({ ...current, sha256: "", newerVersion: "v2" }, { ...inputs, triggers: [1] });
        assert.deepEqual(r.keys, ["triggers", "sha256", "newerVersion"]);
        assert.deepEqual(r.reasons, [
            "inputs changed: triggers",
            "the stored backup file:///b/x.kvbackup was found missing or changed by refresh",
            "a new version v2 in the vault (the backup holds v1)",
        ]);
    });

    it("works on a key backup's names (keyName, keyVersion)", () => {
        const key = { vaultUrl: "https://myvault.vault.azure.net", keyName: "k", destination: "./b", keyVersion: "", triggers: [], apiVersion: "7.4" };
        assert.deepEqual(dueReasons({ ...key, backedUpAt: upgraded.backedUpAt }, { ...key, keyVersion: "v9" }).keys, ["keyVersion"]);
    });

    it("a listing time in the second the backup holds is left to the version listing only when the backup may share that second", () => {
        const tie = { ...inputs, sourceUpdatedOn: "2026-11-30T09:59:59.000Z" };
        assert.equal(listedInHeldSecond(current, tie), false, "backed up a second later: nothing made in that second is missing");
        assert.equal(listedInHeldSecond({ ...current, sameSecond: true }, tie), true);
        assert.equal(listedInHeldSecond({ ...current, backedUpAt: "2026-11-30T09:59:59.800Z" }, tie), true, "state from before sameSecond: told by backedUpAt");
        assert.equal(listedInHeldSecond(upgraded, { ...inputs, sourceUpdatedOn: "2026-11-30T10:00:00.000Z" }), true, "no vault time: the backup's own second");
        assert.equal(listedInHeldSecond({ ...current, sameSecond: true }, { ...inputs, sourceUpdatedOn: "2026-11-30T09:59:58.000Z" }), false);
        assert.deepEqual(dueReasons({ ...current, sameSecond: true }, tie), { keys: [], reasons: [] }, "the time alone says nothing is due");
    });
});
