import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { loadOrCreateCa } from "../../emulator/tls";
import { parseCli } from "../../emulator/cli";
import { SecretClient } from "@azure/keyvault-secrets";
import { signalGroup } from "../../scripts/harness/process-group";
import { repoRoot, scratchRoot, testCaDir } from "../helpers/paths";
import { credentialFor, uniqueName } from "../helpers/emulator";

const CLI = path.join(repoRoot, "dist", "emulator", "cli.js");

interface Started {
    child: ChildProcess;
    ready: Promise<Record<string, any>>; // eslint-disable-line @typescript-eslint/no-explicit-any
    stdout: () => string;
    stderr: () => string;
}

/** Starts the CLI in its own process group; `ready` resolves with the parsed ready line. */
function startCli(args: string[], env: NodeJS.ProcessEnv = process.env): Started {
    const child = spawn(process.execPath, [CLI, ...args], { detached: true, env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stderr!.on("data", (c: Buffer) => (err += c.toString()));
    const ready = new Promise<Record<string, any>>((resolve, reject) => { // eslint-disable-line @typescript-eslint/no-explicit-any
        child.stdout!.on("data", (c: Buffer) => {
            out += c.toString();
            if (out.includes("\n")) resolve(JSON.parse(out.split("\n")[0]));
        });
        child.on("exit", (code) => reject(new Error(`emulator exited (${code}) before ready: ${err}`)));
    });
    ready.catch(() => undefined);
    return { child, ready, stdout: () => out, stderr: () => err };
}

function killGroup(child: ChildProcess): void {
    if (child.exitCode === null && child.signalCode === null && child.pid) signalGroup(child.pid, "SIGKILL");
}

async function exitOf(child: ChildProcess, ms = 10_000): Promise<number | null> {
    if (child.exitCode !== null) return child.exitCode;
    const timer = setTimeout(() => killGroup(child), ms);
    const [code] = (await once(child, "exit")) as [number | null];
    clearTimeout(timer);
    return code;
}

describe("emulator: keyvault-emulator CLI", () => {
    const started: ChildProcess[] = [];
    after(() => started.forEach(killGroup));

    it("parses flags, and names the bad ones", () => {
        assert.deepEqual(parseCli(["--vault", "a1b", "--vault", "c2d", "--port", "0", "--no-throttle", "--latency", "5"]), {
            vaults: ["a1b", "c2d"],
            port: 0,
            throttle: false,
            latencyMs: 5,
        });
        assert.throws(() => parseCli(["--port", "http"]), /--port must be a number/);
        assert.throws(() => parseCli(["--ca-cert", "x"]), /--ca-cert and --ca-key go together/);
        assert.throws(() => parseCli(["stray"]), /unexpected argument "stray"/);
        assert.equal(parseCli(["--help"]), "help");
    });

    it("prints exactly one ready line, serves the real SDK, and closes cleanly on SIGTERM", async () => {
        const ca = await loadOrCreateCa(testCaDir);
        const cli = startCli(["--vault", "cli-vault", "--ca-cert", ca.caCertPath, "--ca-key", ca.caKeyPath]);
        started.push(cli.child);
        const ready = await cli.ready;
        assert.deepEqual(Object.keys(ready).sort(), ["adminUrl", "authorityHost", "caCertPath", "principals", "tenantId", "vaults"]);
        assert.match(ready.vaults["cli-vault"], /^https:\/\/127\.0\.0\.1:\d+$/);
        assert.equal(ready.caCertPath, ca.caCertPath);
        assert.deepEqual(ready.principals.map((p: { permissions: string[] }) => p.permissions.length), [8, 2]);
        const client = new SecretClient(ready.vaults["cli-vault"], credentialFor({ tenantId: ready.tenantId, principals: ready.principals, authorityHost: ready.authorityHost }), {
            disableChallengeResourceVerification: true,
        });
        const name = uniqueName("cli");
        await client.setSecret(name, "v");
        assert.equal((await client.getSecret(name)).value, "v");
        assert.equal(cli.stdout().trim().split("\n").length, 1, "exactly one line on stdout");
        cli.child.kill("SIGTERM");
        assert.equal(await exitOf(cli.child), 0);
        assert.match(cli.stderr(), /SIGTERM, closing/);
    });

    it("works for any client that trusts caCertPath (its own CA, a separate process)", async () => {
        const dataDir = path.join(scratchRoot, uniqueName("cli-data"));
        const cli = startCli(["--vault", "demo", "--data", dataDir]);
        started.push(cli.child);
        const ready = await cli.ready;
        assert.equal(ready.caCertPath, path.join(dataDir, "tls", "ca.pem"));
        const client = spawn(process.execPath, [path.join(__dirname, "cli-client.js"), JSON.stringify(ready)], {
            env: { ...process.env, NODE_EXTRA_CA_CERTS: ready.caCertPath },
            stdio: ["ignore", "pipe", "pipe"],
        });
        let out = "";
        let err = "";
        client.stdout!.on("data", (c: Buffer) => (out += c.toString()));
        client.stderr!.on("data", (c: Buffer) => (err += c.toString()));
        assert.equal(await exitOf(client), 0, err);
        assert.deepEqual(JSON.parse(out), { sameVersion: true, value: "child-value" });
        cli.child.kill("SIGINT");
        assert.equal(await exitOf(cli.child), 0);
    });

    it("exits 2 with a clear message for a bad flag, and 1 naming a damaged data file", async () => {
        const bad = startCli(["--vault"]);
        started.push(bad.child);
        assert.equal(await exitOf(bad.child), 2);
        assert.match(bad.stderr(), /keyvault-emulator: .*--vault/);
        assert.match(bad.stderr(), /Usage: keyvault-emulator/);
        const dataDir = path.join(scratchRoot, uniqueName("cli-bad-data"));
        fs.mkdirSync(dataDir, { recursive: true });
        fs.writeFileSync(path.join(dataDir, "state.json"), "not json");
        const damaged = startCli(["--data", dataDir]);
        started.push(damaged.child);
        assert.equal(await exitOf(damaged.child), 1);
        assert.match(damaged.stderr(), /state\.json is damaged/);
        assert.equal(damaged.stdout(), "", "no ready line");
    });
});
