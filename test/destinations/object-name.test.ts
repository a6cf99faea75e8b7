import { strict as assert } from "node:assert";
import { backupObjectName, parseBackupObjectName, BackupRecord, ObjectKind } from "../../provider/destinations/destination";

const sha256 = "3f2a9c1b0d4e".padEnd(64, "0");

function record(kind: ObjectKind | undefined, vaultUrl = "https://myvault.vault.azure.net", name = "db-password"): BackupRecord {
    return { vaultUrl, secretName: name, backedUpAt: "2026-11-27T17:45:00.123Z", sha256, sizeBytes: 10, kind };
}

describe("backup object names", () => {
    it("a secret backup keeps the name every earlier version wrote", () => {
        assert.equal(backupObjectName(record(undefined)), "myvault.vault.azure.net_db-password_20261127T174500123Z_3f2a9c1b0d4e.kvbackup");
        assert.equal(backupObjectName(record("secret")), "myvault.vault.azure.net_db-password_20261127T174500123Z_3f2a9c1b0d4e.kvbackup");
    });

    it("keys and certificates say their kind before the extension", () => {
        assert.equal(backupObjectName(record("key")), "myvault.vault.azure.net_db-password_20261127T174500123Z_3f2a9c1b0d4e.key.kvbackup");
        assert.equal(backupObjectName(record("certificate", "https://127.0.0.1:41234", "tls")),
            "127.0.0.1_41234_tls_20261127T174500123Z_3f2a9c1b0d4e.certificate.kvbackup");
    });

    it("reads back host, kind, name, time and hash prefix of every kind", () => {
        for (const kind of ["secret", "key", "certificate"] as const) {
            for (const [url, host] of [["https://myvault.vault.azure.net", "myvault.vault.azure.net"], ["https://127.0.0.1:41234", "127.0.0.1_41234"]]) {
                const parsed = parseBackupObjectName(backupObjectName(record(kind, url, "a-b-1")));
                assert.deepEqual(parsed, { host, kind, name: "a-b-1", backedUpAt: "2026-11-27T17:45:00.123Z", sha256Prefix: "3f2a9c1b0d4e" });
            }
        }
    });

    it("any other name is not a backup of this tool", () => {
        for (const name of ["notes.txt", "x.kvbackup", ".db_20261127T174500123Z_3f2a9c1b0d4e.kvbackup.0123456789ab.tmp",
            "h_db_20261127T174500123Z_3f2a9c1b0d4e.blob.kvbackup", "h_db_20261127T174500123Z_3F2A9C1B0D4E.kvbackup", "h_db_bad"]) {
            assert.equal(parseBackupObjectName(name), undefined, name);
        }
    });
});
