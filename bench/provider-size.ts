/**
 * The size of the serialized provider (`__provider`) every `SecretBackup` carries in its inputs
 * and state: once from this repository, once from the package as a user gets it (`npm pack`,
 * installed into a scratch project from the npm cache), where one backup is also taken through
 * the host from that project to show the small provider works as installed.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type { RunningEmulator } from "../emulator";
import { backupJobs, createThroughHost, startHost } from "./drive";
import { freshFolder, repoRoot, secretName, VAULTS } from "./setup";
import { round } from "./stats";
import type { ProviderHost } from "../scripts/harness/host";

const run = promisify(execFile);

/** The size figures. */
export interface SizeResult {
    repository: { bytes: number; loads: string };
    installed: {
        bytes: number;
        loads: string;
        tarballBytes: number;
        tarballFiles: number;
        npmInstall: string;
        installMs: number;
        backupThroughHostFromInstall: boolean;
    };
}

/** A program's one `SecretBackup` from the repository: the `__provider` text's UTF-8 size. */
async function fromRepository(emulator: RunningEmulator): Promise<SizeResult["repository"]> {
    const [job] = await backupJobs(emulator.vaults.latency, [secretName(0)], "./secret-backups", "size");
    const text = String(job.inputs.__provider);
    return { bytes: Buffer.byteLength(text, "utf8"), loads: loadedModule(text) };
}

/** The package as a user gets it: packed, and installed with its dependencies into a scratch project. */
export interface InstalledPackage {
    /** The scratch project (`.cache/bench/user-project`), where a host runs as `pulumi up` would run it there. */
    project: string;
    tarballBytes: number;
    tarballFiles: number;
    npmInstall: string;
    installMs: number;
}

let installing: Promise<InstalledPackage> | undefined;

/** Packs and installs the package, once per bench run (the bulk runs use the same project). */
export function installedPackage(): Promise<InstalledPackage> {
    installing ??= install();
    return installing;
}

async function install(): Promise<InstalledPackage> {
    const packDir = freshFolder("pack");
    const project = freshFolder("user-project");
    const env = npmEnv();
    // dist/ is fresh: `npm run bench` compiles first, which is what `prepare` would do again.
    const { stdout } = await run("npm", ["pack", "--json", "--ignore-scripts", "--pack-destination", packDir], { cwd: repoRoot, env, maxBuffer: 64 << 20 });
    const [packed] = JSON.parse(stdout) as { filename: string; size: number; entryCount: number }[];
    const tarball = path.join(packDir, path.basename(packed.filename));
    fs.writeFileSync(path.join(project, "package.json"), JSON.stringify({ name: "bench-user-project", version: "1.0.0", private: true }, null, 2));
    const started = performance.now();
    const npmInstall = await installTarball(project, tarball, env);
    return { project, tarballBytes: packed.size, tarballFiles: packed.entryCount, npmInstall, installMs: round(performance.now() - started, 0) };
}

/** What a one-`SecretBackup` program in the installed project registers (its inputs hold the installed `__provider`). */
export async function installedRegistration(project: string, vaultUrl: string, name: string, destination: string): Promise<{ name: string; inputs: Record<string, unknown> }> {
    const out = await run(process.execPath, [path.join(__dirname, "user-program.js"), vaultUrl, name, destination], { cwd: project, env: process.env });
    return JSON.parse(out.stdout) as { name: string; inputs: Record<string, unknown> };
}

/** Measures the installed package's `__provider` and backs up one secret through a host started in its project. */
async function fromInstalledPackage(emulator: RunningEmulator): Promise<SizeResult["installed"]> {
    const { project, tarballBytes, tarballFiles, npmInstall, installMs } = await installedPackage();
    const name = secretName(VAULTS.latency - 1);
    const registered = await installedRegistration(project, emulator.vaults.latency, name, "./backups");
    const text = String(registered.inputs.__provider);
    let host: ProviderHost | undefined;
    let outs: Record<string, unknown>;
    try {
        host = await startHost(emulator, project);
        outs = await createThroughHost(host, { urn: `urn:pulumi:dev::bench-user-project::pulumi-nodejs:dynamic/keyvault:SecretBackup::${name}`, inputs: registered.inputs });
    } finally {
        await host?.stop();
    }
    const location = String(outs.location);
    const backedUp = location.startsWith("file://") && fs.existsSync(new URL(location)) && location.includes(path.join(project, "backups"));
    return {
        bytes: Buffer.byteLength(text, "utf8"),
        loads: loadedModule(text),
        tarballBytes,
        tarballFiles,
        npmInstall,
        installMs,
        backupThroughHostFromInstall: backedUp,
    };
}

/** `npm install --offline` (every dependency from the npm cache); `--prefer-offline` if the cache lacks something. */
async function installTarball(project: string, tarball: string, env: NodeJS.ProcessEnv): Promise<string> {
    for (const mode of ["--offline", "--prefer-offline"]) {
        const args = ["install", mode, "--no-audit", "--no-fund", tarball];
        try {
            await run("npm", args, { cwd: project, env, maxBuffer: 64 << 20 });
            return `npm ${args.slice(0, -1).join(" ")} <tarball>`;
        } catch (e) {
            if (mode === "--prefer-offline") throw new Error(`npm install of ${tarball} failed: ${(e as { stderr?: string }).stderr ?? (e as Error).message}`);
        }
    }
    throw new Error("unreachable");
}

/** This environment without npm's lifecycle variables, so the nested npm acts as a user's would. */
function npmEnv(): NodeJS.ProcessEnv {
    return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("npm_")));
}

/** The module id the serialized provider requires (recorded to show which copy it is). */
function loadedModule(text: string): string {
    return /"((?:\.\/|pulumi-keyvault-backup\/)[^"]*(?:operations|dynamic\.js))"/.exec(text)?.[1] ?? "(not found)";
}

/** Both measurements. */
export async function measureProviderSize(emulator: RunningEmulator): Promise<SizeResult> {
    return { repository: await fromRepository(emulator), installed: await fromInstalledPackage(emulator) };
}
