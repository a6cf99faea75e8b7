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
            const before = listeningPorts();
            assert.ok(before.includes(port), `this process's listening ports (${before.join(", ")}) are read from /proc`);
            await assert.rejects(startTestEmulator({ port }), new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}`));
            // The in-use port last: the authority and the first vault are listening when it fails.
            await assert.rejects(startTestEmulator({ vaults: ["free-vault", "taken-vault"], vaultPorts: { "taken-vault": port } }), new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}`));
            assert.deepEqual(listeningPorts(), before, "the failed starts left no port listening");
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

/** The TCP ports this process listens on, read from /proc (sockets in LISTEN state whose inode is one of our descriptors). */
function listeningPorts(): number[] {
    const ours = new Set<string>();
    for (const fd of fs.readdirSync("/proc/self/fd")) {
        try {
            const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/self/fd/${fd}`));
            if (m) ours.add(m[1]);
        } catch {
            // closed while we looked
        }
    }
    const ports: number[] = [];
    for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
        if (!fs.existsSync(table)) continue;
        for (const line of fs.readFileSync(table, "utf8").split("\n").slice(1)) {
            const f = line.trim().split(/\s+/);
            // local_address is f[1] (hex address:port), st is f[3] (0A = LISTEN), inode is f[9].
            if (f.length > 9 && f[3] === "0A" && ours.has(f[9])) ports.push(parseInt(f[1].split(":")[1], 16));
        }
    }
    return ports.sort((a, b) => a - b);
}
