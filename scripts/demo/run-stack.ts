/**
 * Runs the root program for the demo: `pulumi up` against a local file backend when a Pulumi CLI
 * is on PATH, otherwise `LocalEngine` (the real dynamic-provider host driven as the engine drives
 * it). Either way the result is one row per backed-up object (secrets, then keys, then certificates).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { LocalEngine } from "../harness/engine";
import { type PulumiCli, configSetArgs, findPulumi, noCliReason, runPulumi, writeProject } from "../harness/pulumi-cli";
import type { DemoPaths } from "./settings";

/** The kinds of vault object the demo backs up. */
export type DemoKind = "secret" | "key" | "certificate";

/** One object's latest backup, and whether this run took it. */
export interface BackupRow {
    kind: DemoKind;
    name: string;
    location: string;
    sha256: string;
    sizeBytes: number;
    takenNow: boolean;
}

/** The demo stack's config: the root program's keys (unprefixed) and credentials (namespaced). */
export interface DemoStackConfig {
    program: { vaultUrl: string; secrets: { name: string; version: string }[]; keys: string[]; certificates: string[]; destination: string };
    credentials: Record<string, string>;
}

/** A backup as the root program exports it. */
type Exported = Record<string, { location: string; sha256: string; sizeBytes: number }>;
/** The root program's exports, per kind. */
type ExportsByKind = Record<DemoKind, Exported>;
/** Each kind's stack output (`backups` is the secrets', as stacks before keys and certificates have it). */
const OUTPUTS: Record<DemoKind, string> = { secret: "backups", key: "keyBackups", certificate: "certificateBackups" };

const PROJECT = "keyvault-backup";
const STACK = "demo";

/** Runs `pulumi up` (or the harness) and returns the rows; `say` prints progress lines. */
export async function runDemoStack(
    projectRoot: string, paths: DemoPaths, config: DemoStackConfig, env: Record<string, string>, say: (line: string) => void,
): Promise<BackupRow[]> {
    const previous = readPrevious(paths);
    const pulumi = process.env.KVB_DEMO_HARNESS ? undefined : findPulumi();
    let exports: ExportsByKind;
    if (pulumi) {
        say(`Running the root program with ${path.relative(projectRoot, pulumi.bin) || pulumi.bin} up (state in ${path.relative(projectRoot, paths.pulumiBackend)}).`);
        exports = await pulumiUp(pulumi, projectRoot, paths, config, env);
    } else {
        say(`${process.env.KVB_DEMO_HARNESS ? "--harness" : `No Pulumi CLI (${noCliReason()})`}: running the root program through the provider-host harness instead ` +
            `(scripts/harness: the program under @pulumi/pulumi's own runner, every backup resource's calls through its real dynamic-provider host over gRPC).`);
        exports = await harnessUp(projectRoot, paths, config, env);
    }
    const rows = (Object.keys(OUTPUTS) as DemoKind[]).flatMap((kind) =>
        Object.entries(exports[kind] ?? {}).map(([name, b]) => ({ kind, name, ...b, takenNow: !previous.has(b.location) })));
    fs.writeFileSync(path.join(paths.root, "last-run.json"), JSON.stringify(Object.fromEntries(rows.map((r) => [`${r.kind} ${r.name}`, r.location])), null, 2));
    return rows;
}

async function harnessUp(projectRoot: string, paths: DemoPaths, config: DemoStackConfig, env: Record<string, string>) {
    const stackConfig: Record<string, string> = { ...config.credentials };
    for (const [k, v] of Object.entries(config.program)) stackConfig[`${PROJECT}:${k}`] = typeof v === "string" ? v : JSON.stringify(v);
    const stack = new LocalEngine({
        projectRoot, project: PROJECT, stack: STACK, env, statePath: paths.stackState,
        program: path.join(projectRoot, "dist", "program", "index.js"),
        config: stackConfig, secretKeys: ["azure-native:clientSecret"],
    });
    const result = await stack.up();
    if (result.error) throw new Error(`the update failed:\n${result.error}`);
    return Object.fromEntries(Object.entries(OUTPUTS).map(([kind, output]) => [kind, result.exports[output] as Exported | undefined ?? {}])) as ExportsByKind;
}

/**
 * `pulumi up` of the root program in `.demo/project` (its `Pulumi.yaml` points at the compiled
 * program, so the stack's config file stays out of the repository root), state in `.demo/pulumi`.
 */
async function pulumiUp(cli: PulumiCli, projectRoot: string, paths: DemoPaths, config: DemoStackConfig, env: Record<string, string>) {
    const projectDir = path.join(paths.root, "project");
    writeProject(projectDir, { name: PROJECT, program: path.join(projectRoot, "dist", "program", "index.js") });
    const options = { cli, projectDir, backendDir: paths.pulumiBackend, passphrase: "keyvault-backup-demo", env };
    const run = (args: string[]) => runPulumi(options, args);
    await run(["stack", "select", "--create", STACK]);
    const set = (key: string, value: string, byPath = false) => run(configSetArgs(STACK, key, value, { path: byPath }));
    await set("vaultUrl", config.program.vaultUrl);
    // The program runs in projectDir here, so a destination relative to the repository is made absolute.
    await set("destination", path.resolve(projectRoot, config.program.destination));
    for (const [i, s] of config.program.secrets.entries()) {
        await set(`secrets[${i}].name`, s.name, true);
        await set(`secrets[${i}].version`, s.version, true);
    }
    for (const [i, name] of config.program.keys.entries()) await set(`keys[${i}]`, name, true);
    for (const [i, name] of config.program.certificates.entries()) await set(`certificates[${i}]`, name, true);
    for (const [k, v] of Object.entries(config.credentials)) await set(k, v);
    await run(["up", "--yes", "--skip-preview", "--stack", STACK]);
    const all = JSON.parse((await run(["stack", "output", "--json", "--stack", STACK])).stdout) as Record<string, Exported | undefined>;
    return Object.fromEntries(Object.entries(OUTPUTS).map(([kind, output]) => [kind, all[output] ?? {}])) as ExportsByKind;
}

/** The locations the last run showed (last-run.json: label -> location; older runs keyed it by secret name). */
function readPrevious(paths: DemoPaths): Set<string> {
    const file = path.join(paths.root, "last-run.json");
    return new Set(fs.existsSync(file) ? Object.values(JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, string>) : []);
}
