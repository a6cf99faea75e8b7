import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { issueServerCertificate, loadOrCreateCa } from "../../emulator/tls";
import { rawRequest } from "./raw";
import { parseCli } from "../../emulator/cli";
import { startEmulator } from "../../emulator";
import { SecretClient } from "@azure/keyvault-secrets";
import { signalGroup } from "../../scripts/harness/process-group";
import { repoRoot, scratchRoot, testCaDir } from "../helpers/paths";
import { credentialFor, uniqueName } from "../helpers/emulator";
import { freePort } from "../helpers/ports";

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
        assert.throws(() => parseCli(["--vault", "bad name!"]), /^Error: --vault: invalid vault name "bad name!"/);
        assert.deepEqual(parseCli(["--vault", "myvault=MyVault.vault.azure.net:8443", "--vault", "other=other.vault.azure.net"]), {
            vaults: ["myvault", "other"],
            vaultHosts: { myvault: "myvault.vault.azure.net", other: "other.vault.azure.net" },
            vaultPorts: { myvault: 8443 },
        });
        assert.throws(() => parseCli(["--vault", "myvault=host:99999"]), /--vault myvault=host:99999: expected NAME=HOST or NAME=HOST:PORT/);
        assert.throws(() => parseCli(["--tls-cert", "c.pem"]), /--tls-cert and --tls-key go together/);
        assert.deepEqual(parseCli(["--tls-cert", "c.pem", "--tls-key", "k.pem", "--ca-cert", "ca.pem"]), { tls: { certPath: "c.pem", keyPath: "k.pem", caCertPath: "ca.pem" } });
        assert.throws(() => parseCli(["--managed-backup", "sometimes"]), /--managed-backup must be "refuse" or "allow"/);
        assert.deepEqual(parseCli(["--managed-backup", "allow", "--certificate-delay", "1500"]), { managedBackup: "allow", certificateDelayMs: 1500 });
    });

    it("exits 2 naming the flag for a bad vault name and for --data naming a file (not a raw EEXIST)", async () => {
        const badName = startCli(["--vault", "bad name!"]);
        started.push(badName.child);
        assert.equal(await exitOf(badName.child), 2);
        assert.match(badName.stderr(), /^keyvault-emulator: --vault: invalid vault name "bad name!"/);
        const file = path.join(scratchRoot, uniqueName("data-file"));
        fs.mkdirSync(scratchRoot, { recursive: true });
        fs.writeFileSync(file, "not a folder");
        const dataFile = startCli(["--data", file]);
        started.push(dataFile.child);
        assert.equal(await exitOf(dataFile.child), 2);
        assert.match(dataFile.stderr(), new RegExp(`^keyvault-emulator: --data must be a folder, and ${file.replace(/[.]/g, "\\.")} is a file`));
        assert.doesNotMatch(dataFile.stderr(), /EEXIST|mkdir/);
        assert.equal(dataFile.stdout(), "", "no ready line");
        // from code too, and for a folder below a file
        await assert.rejects(startEmulator({ dataDir: path.join(file, "state") }), (e: Error) => {
            assert.equal(e.message, `the emulator's data folder ${path.join(file, "state")} cannot be used: it, or a folder above it, is a file. Give a folder (it is made when missing).`);
            return true;
        });
    });

    it("serves a vault under a given host name and pinned port with a given server certificate; ids use that host; with --data the token endpoint keeps its port", async () => {
        const ca = await loadOrCreateCa(testCaDir);
        const host = "myvault.vault.azure.net";
        const dir = path.join(scratchRoot, uniqueName("cli-host"));
        fs.mkdirSync(dir, { recursive: true });
        const cert = await issueServerCertificate({ certPem: fs.readFileSync(ca.caCertPath, "utf8"), keyPem: fs.readFileSync(ca.caKeyPath, "utf8") }, [host, "localhost", "127.0.0.1"]);
        fs.writeFileSync(path.join(dir, "server.pem"), cert.certPem);
        fs.writeFileSync(path.join(dir, "server-key.pem"), cert.keyPem, { mode: 0o600 });
        const port = await freePort();
        const args = ["--vault", `myvault=${host}:${port}`, "--tls-cert", path.join(dir, "server.pem"), "--tls-key", path.join(dir, "server-key.pem"), "--ca-cert", ca.caCertPath, "--data", path.join(dir, "data")];
        const first = startCli(args);
        started.push(first.child);
        const ready = await first.ready;
        assert.equal(ready.vaults.myvault, `https://${host}:${port}`);
        assert.equal(ready.caCertPath, ca.caCertPath);
        const token = (await credentialFor({ tenantId: ready.tenantId, principals: ready.principals, authorityHost: ready.authorityHost }).getToken("https://vault.azure.net/.default")).token;
        // the client resolves the name to the loopback address; TLS checks the given certificate for the name
        const created = await rawRequest(`https://127.0.0.1:${port}/keys/hosted/create?api-version=7.4`, { method: "POST", token, body: { kty: "EC" }, servername: host, headers: { host: `${host}:${port}` } });
        assert.equal(created.status, 200, created.text);
        assert.match(created.json.key.kid, new RegExp(`^https://myvault\\.vault\\.azure\\.net:${port}/keys/hosted/[0-9a-f]{32}$`));
        first.child.kill("SIGTERM");
        assert.equal(await exitOf(first.child), 0);
        const second = startCli(args);
        started.push(second.child);
        const again = await second.ready;
        assert.equal(again.authorityHost, ready.authorityHost, "AZURE_AUTHORITY_HOST stays valid across restarts");
        assert.equal(again.vaults.myvault, ready.vaults.myvault);
        second.child.kill("SIGTERM");
        assert.equal(await exitOf(second.child), 0);
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
