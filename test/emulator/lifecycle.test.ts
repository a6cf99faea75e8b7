import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import { startEmulator } from "../../emulator";
import { startTestEmulator, secretClientFor, uniqueName } from "../helpers/emulator";

describe("emulator: lifecycle", () => {
    it("gives each vault its own HTTPS port and closes idempotently, refusing connections afterwards", async () => {
        const e = await startTestEmulator({ vaults: ["life-one", "life-two"] });
        try {
            const ports = new Set([e.authorityHost, ...Object.values(e.vaults)].map((u) => new URL(u).port));
            assert.equal(ports.size, 3);
            assert.equal(e.adminUrl, `${e.authorityHost}/admin`);
            await secretClientFor(e, "life-two").setSecret(uniqueName("life"), "v");
        } finally {
            await Promise.all([e.close(), e.close()]);
        }
        await assert.rejects(secretClientFor(e, "life-two").setSecret(uniqueName("late"), "v"), /ECONNREFUSED|socket hang up|ECONNRESET/);
    });

    it("fails to start on a port in use, naming it, and leaves nothing listening", async () => {
        const first = await startTestEmulator({ vaults: ["port-vault"] });
        try {
            const port = Number(new URL(first.authorityHost).port);
            await assert.rejects(startTestEmulator({ port }), new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}`));
        } finally {
            await first.close();
        }
    });

    it("makes its own CA when given none, and removes it at close", async () => {
        const e = await startEmulator({ vaults: ["own-ca"] });
        assert.match(fs.readFileSync(e.caCertPath, "utf8"), /BEGIN CERTIFICATE/);
        await e.close();
        assert.equal(fs.existsSync(e.caCertPath), false);
    });
});
