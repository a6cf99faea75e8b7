import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { execFileSync } from "node:child_process";
import { LocalEngine, ProviderHost, SECRET_SIG, SIG_KEY, assertGone, dynamicOps, waitGone } from "../helpers/host";
import { runProgram, uniqueFolder } from "../helpers/program";
import { repoRoot } from "../helpers/paths";

// Proves the harness itself with a tiny dynamic resource (fixtures/note.ts), independent of SecretBackup.
const programPath = path.join(__dirname, "fixtures", "note-program.js");

function noteStack(folder: string, notes: Record<string, string>, greeting = "hello"): LocalEngine {
    return new LocalEngine({
        projectRoot: repoRoot,
        project: "fixture",
        stack: "dev",
        program: programPath,
        config: { "fixture:folder": folder, "fixture:notes": JSON.stringify(notes), "fixture:greeting": greeting },
    });
}

describe("host harness (fixture dynamic provider)", function () {
    this.timeout(60_000);

    it("starts the real host, which prints its port, answers GetPluginInfo, and stops with its process group", async () => {
        const host = await ProviderHost.start({ projectRoot: repoRoot, project: "fixture" });
        const pid = host.pid;
        try {
            const version = await host.getPluginInfo();
            const expected = JSON.parse(fs.readFileSync(path.join(repoRoot, "node_modules/@pulumi/pulumi/package.json"), "utf8")).version;
            assert.equal(version, expected);
            assert.match(host.stdout(), /^\d+\n/);
            // The host refuses secrets in Configure's answer: that is why the engine strips markers.
            assert.deepEqual(await host.configure({ "fixture:greeting": "hi" }), { acceptSecrets: false });
        } finally {
            await host.stop();
        }
        assertGone(pid);
    });

    it("stops a host that is still running when the process that started it exits", async () => {
        const script = `require(${JSON.stringify(path.join(repoRoot, "dist/scripts/harness/host.js"))}).ProviderHost` +
            `.start({ projectRoot: ${JSON.stringify(repoRoot)}, project: "fixture" }).then((h) => { console.log(h.pid); process.exit(0); });`;
        const out = execFileSync(process.execPath, ["-e", script], { encoding: "utf8" });
        const pid = Number(out.trim().split("\n").pop());
        assert.ok(pid > 0, out);
        await waitGone(pid);
    });

    it("runs a program under mocks and sees each dynamic resource's inputs with __provider, as the engine would", async () => {
        const seen: { type: string; inputs: Record<string, unknown> }[] = [];
        const run = await runProgram(programPath, {
            project: "fixture",
            stack: "dev",
            config: { "fixture:folder": "/tmp/x", "fixture:notes": JSON.stringify({ a: "alpha" }) },
            preview: true,
            register: async (reg) => {
                seen.push(reg);
                return { id: "", state: reg.inputs };
            },
        });
        const note = seen.find((r) => r.type === "pulumi-nodejs:dynamic/fixture:Note");
        assert.ok(note, `no Note registered among ${seen.map((r) => r.type).join(", ")}`);
        assert.equal(note.inputs.text, "alpha");
        assert.match(String(note.inputs.__provider), /exports\.handler/);
        assert.deepEqual(run.registrations.map((r) => r.type), ["pulumi:pulumi:Stack", "pulumi-nodejs:dynamic/fixture:Note"]);
    });

    it("drives preview, up, a second up, an update, refresh with drift, and destroy through the host", async () => {
        const folder = uniqueFolder("note");
        const stack = noteStack(folder, { a: "alpha" });

        const preview = await stack.preview();
        assert.equal(preview.error, undefined);
        assert.deepEqual(dynamicOps(preview), ["create"]);
        assert.equal(fs.existsSync(folder), false, "preview wrote nothing");

        const up = await stack.up();
        assert.equal(up.error, undefined, up.hostStderr);
        const file = String((up.exports.files as Record<string, string>).a);
        assert.equal(fs.readFileSync(file, "utf8"), "alpha");
        assert.match(up.hostStdout, /note: wrote /);
        const state = stack.state.resources.find((r) => r.type === "pulumi-nodejs:dynamic/fixture:Note")!;
        assert.equal(state.outputs.greeting, "hello", "stack config reached configure() through Configure");
        assert.ok(typeof state.outputs.__provider === "string");

        const again = await stack.up();
        assert.deepEqual(dynamicOps(again), ["same"]);
        assert.equal(fs.readdirSync(folder).length, 1);

        stack.setConfig("fixture:notes", JSON.stringify({ a: "beta" }));
        const changed = await stack.up();
        assert.deepEqual(dynamicOps(changed), ["update"]);
        assert.equal(fs.readdirSync(folder).length, 2, "the update wrote a new file and kept the old one");

        fs.writeFileSync(String((changed.exports.files as Record<string, string>).a), "tampered");
        const refresh = await stack.refresh();
        const noteRefresh = refresh.steps.find((s) => s.type === "pulumi-nodejs:dynamic/fixture:Note");
        assert.deepEqual(noteRefresh?.changed, ["sha256"], "refresh reported the drift");

        const destroy = await stack.destroy();
        assert.deepEqual(dynamicOps(destroy), ["delete"]);
        assert.deepEqual(stack.state.resources, []);
        assert.match(destroy.hostStdout, /note: keeping /);
        assert.equal(fs.readdirSync(folder).length, 2, "destroy kept the files");
    });

    it("passes a secret input to the program's registration with its marker and to the host stripped, as the engine does", async () => {
        const folder = uniqueFolder("note-secret");
        const config = { "fixture:folder": folder, "fixture:notes": "{}", "fixture:secretNote": "classified" };
        const run = await runProgram(programPath, {
            project: "fixture", stack: "dev", config, secretKeys: ["fixture:secretNote"], preview: true,
            register: async (reg) => ({ id: "", state: reg.inputs }),
        });
        const registered = run.registrations.find((r) => r.name === "secret");
        assert.deepEqual(registered?.inputs.text, { [SIG_KEY]: SECRET_SIG, value: "classified" });
        const stack = new LocalEngine({ projectRoot: repoRoot, project: "fixture", stack: "dev", program: programPath, config, secretKeys: ["fixture:secretNote"] });
        const up = await stack.up();
        assert.equal(up.error, undefined, up.hostStderr);
        assert.equal(fs.readFileSync(String((up.exports.files as Record<string, string>).secret), "utf8"), "classified");
    });

    it("reports Check failures per property and a create failure with the provider's full message", async () => {
        const bad = await noteStack(uniqueFolder("note-bad"), { a: "" }).preview();
        assert.match(bad.error ?? "", /text: text must be a non-empty string/);

        const failing = noteStack(uniqueFolder("note-fail"), { a: "fail" });
        const up = await failing.up();
        assert.match(up.error ?? "", /gRPC 2\): note: cannot write "fail" into .*: refused on purpose \(status 418, request id r-1\)/);
        assert.deepEqual(failing.state.resources.filter((r) => r.type.includes("Note")), [], "no state claims a failed create");
    });
});

