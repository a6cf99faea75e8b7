import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { spawn } from "node:child_process";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { RunningEmulator } from "../../emulator";
import { azureNativeConfig, startTestEmulator, uniqueName } from "../helpers/emulator";
import { LocalEngine, OperationResult, childPids, dynamicOps, waitFor, waitGone } from "../helpers/host";
import { uniqueFolder } from "../helpers/program";
import { repoRoot } from "../helpers/paths";
import { signalGroup } from "../../scripts/harness/process-group";

// Programs run as `pulumi up` runs them: `@pulumi/pulumi/cmd/run` in its own process, talking gRPC
// to the harness's ResourceMonitor and Engine (fixtures/runner-program.ts picks a mode from config).
const programPath = path.join(__dirname, "fixtures", "runner-program.js");
const NOTE = "pulumi-nodejs:dynamic/fixture:Note";

function runnerStack(stack: string, config: Record<string, string>, options: { parallel?: number; statePath?: string } = {}): LocalEngine {
    return new LocalEngine({ projectRoot: repoRoot, project: "fixture", stack, program: programPath, config, ...options });
}

function ok(result: OperationResult): OperationResult {
    assert.equal(result.error, undefined, `${result.error}\nprogram stderr: ${result.programStderr}\nhost stderr: ${result.hostStderr}`);
    return result;
}

describe("program runner (cmd/run against the harness's ResourceMonitor)", function () {
    this.timeout(120_000);

    it("records each resource's URN, parent and dependencies, and the stack's exports, as the program declared them", async () => {
        const stackName = uniqueName("tree");
        const folder = uniqueFolder("runner-tree");
        const stack = runnerStack(stackName, { "fixture:folder": folder, "fixture:mode": "tree", "fixture:renamed": "renamed-before" });
        ok(await stack.up());

        const urn = (qualifiedType: string, name: string): string => `urn:pulumi:${stackName}::fixture::${qualifiedType}::${name}`;
        const stackUrn = urn("pulumi:pulumi:Stack", `fixture-${stackName}`);
        const shelfUrn = urn("fixture:index:Shelf", "shelf");
        const firstUrn = urn(`fixture:index:Shelf$${NOTE}`, "shelf-first");
        const byUrn = new Map(stack.state.resources.map((r) => [r.urn, r]));
        assert.deepEqual([...byUrn.keys()].sort(), [
            stackUrn, shelfUrn, firstUrn, urn(`fixture:index:Shelf$${NOTE}`, "shelf-second"),
            urn(NOTE, "derived"), urn(NOTE, "renamed-before"),
        ].sort());
        assert.equal(byUrn.get(stackUrn)!.parent, "");
        assert.equal(byUrn.get(shelfUrn)!.parent, stackUrn);
        assert.equal(byUrn.get(firstUrn)!.parent, shelfUrn);
        assert.deepEqual(byUrn.get(firstUrn)!.dependencies, []);
        assert.deepEqual(byUrn.get(urn(`fixture:index:Shelf$${NOTE}`, "shelf-second"))!.dependencies, [firstUrn], "dependsOn");
        const derived = byUrn.get(urn(NOTE, "derived"))!;
        assert.equal(derived.parent, stackUrn);
        assert.deepEqual(derived.dependencies, [firstUrn], "an input from the first note's output");
        assert.deepEqual(derived.propertyDependencies?.text, [firstUrn]);
        const firstFile = String(byUrn.get(firstUrn)!.outputs.file);
        assert.deepEqual(byUrn.get(shelfUrn)!.outputs, {
            files: [firstFile, String(byUrn.get(urn(`fixture:index:Shelf$${NOTE}`, "shelf-second"))!.outputs.file)],
        }, "the component's registerOutputs");
        assert.equal(fs.readFileSync(String(derived.outputs.file), "utf8"), `after ${String(byUrn.get(firstUrn)!.outputs.sha256).slice(0, 8)}`);

        // Renamed with an alias: the same resource, not a create and a delete.
        stack.setConfig("fixture:renamed", "");
        const renamed = ok(await stack.up());
        assert.deepEqual(renamed.steps.filter((s) => s.type === NOTE).map((s) => `${s.op} ${s.urn.split("::").pop()}`).sort(),
            ["same derived", "same renamed-now", "same shelf-first", "same shelf-second"]);
        assert.deepEqual(renamed.exports, {
            shelfFirst: firstFile, derived: derived.outputs.file, renamed: byUrn.get(urn(NOTE, "renamed-before"))!.outputs.file,
            plain: "a plain value", secret: "kept secret",
        });
        assert.ok(stack.state.resources.some((r) => r.urn === urn(NOTE, "renamed-now")));
        assert.ok(!stack.state.resources.some((r) => r.urn === urn(NOTE, "renamed-before")));
    });

    it("takes over a child recorded by the mocks harness under a URN without its parent's type: same, no create or delete", async () => {
        const stackName = uniqueName("legacy");
        const folder = uniqueFolder("runner-legacy");
        const statePath = path.join(uniqueFolder("runner-legacy-state"), "state.json");
        const fresh = runnerStack(stackName, { "fixture:folder": folder, "fixture:mode": "tree", "fixture:renamed": "renamed-before" }, { statePath });
        ok(await fresh.up());
        // Rewrite the state as the mocks harness wrote it: every URN `…::<type>::<name>`.
        const flat = (urn: string): string => {
            const parts = urn.split("::");
            parts[2] = parts[2].split("$").pop()!;
            return parts.join("::");
        };
        const state = JSON.parse(fs.readFileSync(statePath, "utf8")) as { resources: { urn: string }[] };
        assert.ok(state.resources.some((r) => flat(r.urn) !== r.urn), "the fixture has a child of a component");
        fs.writeFileSync(statePath, JSON.stringify({ resources: state.resources.map((r) => ({ ...r, urn: flat(r.urn) })) }));

        const again = ok(await fresh.up());
        assert.deepEqual(dynamicOps(again), ["same", "same", "same", "same"]);
        assert.ok(fresh.state.resources.some((r) => r.urn.endsWith(`::fixture:index:Shelf$${NOTE}::shelf-first`)));
        assert.equal(fresh.state.resources.length, state.resources.length);
    });

    it("waits for the program's event loop to drain: a resource registered late, with no exports, is created", async () => {
        const folder = uniqueFolder("runner-late");
        const stack = runnerStack(uniqueName("late"), { "fixture:folder": folder, "fixture:mode": "late" });
        const up = ok(await stack.up());
        assert.deepEqual(dynamicOps(up), ["create"]);
        assert.deepEqual(up.exports, {});
        const late = stack.state.resources.find((r) => r.type === NOTE)!;
        assert.equal(fs.readFileSync(String(late.outputs.file), "utf8"), "late");
    });

    it("gives the same state with --parallel 8 as with --parallel 1, with up to 8 creates in flight", async () => {
        const folder = uniqueFolder("runner-parallel");
        const config = { "fixture:folder": folder, "fixture:mode": "many", "fixture:count": "12" };
        const serial = runnerStack("dev", config, { parallel: 1 });
        const parallel = runnerStack("dev", config, { parallel: 8 });
        const [one, eight] = [ok(await serial.up()), ok(await parallel.up())];
        const sorted = (s: LocalEngine) => [...s.state.resources].sort((a, b) => a.urn.localeCompare(b.urn));
        assert.equal(sorted(serial).filter((r) => r.type === NOTE).length, 12);
        assert.deepEqual(sorted(parallel), sorted(serial));
        assert.deepEqual(eight.exports, one.exports);
        const inFlight = (r: OperationResult): number[] => [...r.hostStdout.matchAll(/\((\d+) creates in flight\)/g)].map((m) => Number(m[1]));
        assert.deepEqual(inFlight(one), Array(12).fill(1), "one at a time");
        assert.equal(inFlight(eight).length, 12);
        assert.ok(Math.max(...inFlight(eight)) > 1 && Math.max(...inFlight(eight)) <= 8, `in flight: ${inFlight(eight)}`);
    });

    describe("a failing program ends the run with its error, never a hang", () => {
        // The runner's exit code: 32 after it logged its own error; after a failed step the engine
        // cancels the program, which may or may not have ended by itself first: anything but 0.
        const cases: [string, RegExp, number | undefined][] = [
            ["throw", /failed with an unhandled exception:\n.*runner fixture: the program gave up on purpose/, 32],
            ["failed-create", /create failed \(gRPC 2\): note: cannot write "fail" into .*: refused on purpose/, undefined],
            ["failed-input", /error serializing property "text": runner fixture: the text could not be computed/, 32],
        ];
        for (const [mode, message, exitCode] of cases) {
            it(`${mode}: fails with the program's message and leaves no runner behind`, async () => {
                const folder = uniqueFolder(`runner-${mode}`);
                const stack = runnerStack(uniqueName(mode), { "fixture:folder": folder, "fixture:mode": mode });
                const started = Date.now();
                const up = await stack.up();
                assert.match(up.error ?? "", message);
                if (exitCode === undefined) assert.notEqual(up.programExitCode, 0);
                else assert.equal(up.programExitCode, exitCode);
                assert.ok(Date.now() - started < 60_000, `took ${Date.now() - started} ms`);
                assert.equal(childPids(process.pid, "cmd/run").length, 0, "no program runner left");
                assert.deepEqual(stack.state.resources.filter((r) => r.type === NOTE), [], "no state for a resource that was not created");
            });
        }
    });

    for (const signal of ["SIGINT", "SIGTERM"] as const) {
        it(`${signal} to a process running a program stops the provider host and the program runner, and it exits ${signal === "SIGINT" ? 130 : 143}`, async () => {
            const folder = uniqueFolder(`runner-${signal}`);
            const driver = spawn(process.execPath, [path.join(__dirname, "fixtures", "hang-driver.js"), repoRoot, folder], { stdio: ["ignore", "pipe", "pipe"] });
            let stderr = "";
            driver.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c));
            const exited = new Promise<number | null>((resolve) => driver.once("exit", (code) => resolve(code)));
            try {
                // The program's note exists: the host created it and the program is still running.
                await waitFor("the hanging program's note", () => fs.existsSync(folder) && fs.readdirSync(folder).length > 0, 60_000);
                const children = childPids(driver.pid!, "node_modules/@pulumi/pulumi/cmd/");
                assert.equal(children.length, 2, `host and runner expected, found ${children.length}\n${stderr}`);
                driver.kill(signal);
                assert.equal(await exited, signal === "SIGINT" ? 130 : 143, stderr);
                for (const pid of children) await waitGone(pid);
            } finally {
                driver.kill("SIGKILL");
            }
        });
    }

    it("kill -9 of a process running a program (no chance to clean up) leaves neither the provider host nor the program runner behind", async () => {
        const folder = uniqueFolder("runner-sigkill");
        const driver = spawn(process.execPath, [path.join(__dirname, "fixtures", "hang-driver.js"), repoRoot, folder], { stdio: ["ignore", "pipe", "pipe"] });
        let stderr = "";
        driver.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c));
        const exited = new Promise<NodeJS.Signals | null>((resolve) => driver.once("exit", (_code, signal) => resolve(signal)));
        let children: number[] = [];
        try {
            await waitFor("the hanging program's note", () => fs.existsSync(folder) && fs.readdirSync(folder).length > 0, 60_000);
            children = childPids(driver.pid!, "node_modules/@pulumi/pulumi/cmd/");
            assert.equal(children.length, 2, `host and runner expected, found ${children.length}\n${stderr}`);
            driver.kill("SIGKILL");
            assert.equal(await exited, "SIGKILL");
            for (const pid of children) await waitGone(pid, 5000);
        } finally {
            driver.kill("SIGKILL");
            for (const pid of children) signalGroup(pid, "SIGKILL");
        }
    });
});

describe("VaultBackup through the real program runner", function () {
    this.timeout(180_000);
    let emulator: RunningEmulator;

    before(async () => {
        emulator = await startTestEmulator({ seed: { vaults: { runner: { secrets: { "first-secret": "first-r7t6", "second-secret": "second-y5u4" } } } } });
    });
    after(async () => {
        await emulator?.close();
    });

    it("a program with only `new VaultBackup(...)` and no exports backs up every secret of the vault", async () => {
        const destination = uniqueFolder("runner-vault");
        const stack = new LocalEngine({
            projectRoot: repoRoot,
            project: "fixture",
            stack: uniqueName("vault"),
            program: path.join(__dirname, "fixtures", "vault-program.js"),
            config: { ...azureNativeConfig(emulator, 0), "fixture:vaultUrl": emulator.vaults.runner, "fixture:destination": destination },
            secretKeys: ["azure-native:clientSecret"],
            env: { AZURE_AUTHORITY_HOST: emulator.authorityHost },
        });
        const up = ok(await stack.up());
        assert.deepEqual(up.exports, {});
        assert.deepEqual(dynamicOps(up), ["create", "create"]);
        const backups = stack.state.resources.filter((r) => r.type === "pulumi-nodejs:dynamic/keyvault:SecretBackup");
        assert.deepEqual(backups.map((r) => r.outputs.secretName).sort(), ["first-secret", "second-secret"]);
        for (const b of backups) {
            assert.ok(b.urn.includes("::pulumi-keyvault-backup:index:VaultBackup$pulumi-nodejs:dynamic/keyvault:SecretBackup::"), b.urn);
            assert.ok(fs.statSync(fileURLToPath(String(b.outputs.location))).size > 0);
        }
        assert.equal(emulator.requests().filter((r) => r.operation === "backup" && r.status === 200).length, 2);
        // Registering skips Pulumi's promise-leak stack traces (the program's main CPU cost), not the source positions.
        for (const b of backups) assert.match(String(b.sourcePosition), /^file:\/\/\/.+\.(ts|js)#\d+,\d+$/, b.urn);
    });

    it("a SecretBackup declared in a program: the engine gets its source position as Pulumi takes it for a dynamic resource (the class's super() call), and the program's Error.stackTraceLimit is left as it was", async () => {
        const stack = new LocalEngine({
            projectRoot: repoRoot,
            project: "fixture",
            stack: uniqueName("direct"),
            program: path.join(__dirname, "fixtures", "backup-program.js"),
            config: { ...azureNativeConfig(emulator, 0), "fixture:vaultUrl": emulator.vaults.runner, "fixture:destination": uniqueFolder("runner-direct") },
            secretKeys: ["azure-native:clientSecret"],
            env: { AZURE_AUTHORITY_HOST: emulator.authorityHost },
        });
        const up = ok(await stack.up());
        assert.deepEqual(up.exports.stackTraceLimit, { before: 10, after: 10 });
        const backup = stack.state.resources.find((r) => r.type === "pulumi-nodejs:dynamic/keyvault:SecretBackup")!;
        // Pulumi skips its own three constructors and reports the next frame: for a dynamic resource, the subclass's super() call.
        const source = path.join(repoRoot, "provider", "resource.ts");
        const lines = fs.readFileSync(source, "utf8").split("\n");
        const line = lines.findIndex((l) => l.trimStart().startsWith("super(providerFor(")) + 1;
        assert.equal(backup.sourcePosition, `${pathToFileURL(source).href}#${line},${lines[line - 1].indexOf("super(") + 1}`);
    });
});
