/**
 * The real Pulumi CLI: the build that `npm run -s pulumi-cli` makes in `.cache/pulumi/bin` (or a
 * `pulumi` on PATH), run as a child process, offline and self-contained: its own `PULUMI_HOME`
 * under `.cache/`, a local `file://` backend, a passphrase secrets provider, no update check and no
 * plugin downloads. Nothing here touches the user's `~/.pulumi` or reaches for the network.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { spawn, spawnSync } from "node:child_process";

/** The repository root, from compiled `dist/scripts/harness`. */
const repoRoot = path.resolve(__dirname, "..", "..", "..");

/**
 * Where `npm run -s pulumi-cli` builds `pulumi`, `pulumi-language-nodejs` and `pulumi-resource-pulumi-nodejs`,
 * and the other language hosts: `pulumi-language-python` (with `pulumi-language-python-exec`, which it
 * runs from beside itself), `pulumi-language-yaml` and `pulumi-language-go` (which needs `go` on PATH).
 */
export const builtCliDir = path.join(repoRoot, ".cache", "pulumi", "bin");

/**
 * The Python virtual environment `npm run -s pulumi-cli` makes (`tools/pulumi/python-venv.sh`): the
 * `pulumi` Python SDK at the CLI's release. A Python program runs in it only when told through the
 * environment (`pythonEnv()`): the Python host built here ignores `runtime.options.virtualenv`.
 */
export const pythonVenvDir = path.join(repoRoot, ".cache", "pulumi", "python");

/**
 * The environment (for `PulumiCliOptions.env`) that makes the Python host run a `runtime: python`
 * program with the virtual environment's interpreter. The host (sdk/v3 v3.68.0) reads
 * `runtime.options.virtualenv` only from a command-line flag, which the v3.248.0 CLI no longer
 * passes, so that option in `Pulumi.yaml` has no effect; `PULUMI_PYTHON_CMD` is what it uses instead.
 */
export function pythonEnv(): Record<string, string> {
    return { PULUMI_PYTHON_CMD: path.join(pythonVenvDir, "bin", "python") };
}

/** The CLI's own home (plugins, credentials, workspace settings), kept apart from the user's `~/.pulumi`. */
export const pulumiHome = path.join(repoRoot, ".cache", "pulumi", "home");

/** A Pulumi CLI that can run a Node.js program: the `pulumi` binary and the folder holding its plugins. */
export interface PulumiCli {
    /** The `pulumi` executable. */
    bin: string;
    /** The folder put first on PATH, so the CLI finds its language host and the dynamic-provider plugin there. */
    binDir: string;
}

const EXECUTABLES = ["pulumi", "pulumi-language-nodejs", "pulumi-resource-pulumi-nodejs"];

/**
 * The CLI built into `.cache/pulumi/bin` when all three executables are there, else a `pulumi`
 * on PATH that has a `pulumi-language-nodejs` beside it, else undefined.
 */
export function findPulumi(env: NodeJS.ProcessEnv = process.env): PulumiCli | undefined {
    const dirs = [builtCliDir, ...(env.PATH ?? "").split(path.delimiter).filter(Boolean)];
    for (const dir of dirs) {
        const ok = EXECUTABLES.slice(0, dir === builtCliDir ? 3 : 2).every((name) => {
            try {
                fs.accessSync(path.join(dir, name), fs.constants.X_OK);
                return true;
            } catch {
                return false;
            }
        });
        if (ok) return { bin: path.join(dir, "pulumi"), binDir: dir };
    }
    return undefined;
}

let goFound: boolean | undefined;

/** Whether `go` is on PATH, so `npm run -s pulumi-cli` can build the CLI here (asked once per process). */
export function goAvailable(): boolean {
    goFound ??= spawnSync("go", ["version"], { stdio: "ignore" }).status === 0;
    return goFound;
}

/**
 * Runs `tools/pulumi/build.sh` (what `npm run -s pulumi-cli` runs) with its progress on stderr:
 * "built" when the CLI is there afterwards (built now or reused), "no-go" when there is no Go to
 * build with, "failed" when the build failed.
 */
export function buildPulumiCli(): "built" | "no-go" | "failed" {
    if (!goAvailable()) return "no-go";
    const r = spawnSync("bash", [path.join(repoRoot, "tools", "pulumi", "build.sh")], { stdio: ["ignore", "ignore", "inherit"] });
    return r.status === 0 ? "built" : "failed";
}

/** Why there is no CLI, and what to do about it, in one sentence for a skipped test or the demo. */
export function noCliReason(): string {
    return goAvailable()
        ? "the Pulumi CLI is not built yet: run `npm run -s pulumi-cli` (builds it from its Go modules into .cache/pulumi/bin)"
        : "no Pulumi CLI and no Go to build one: install Go 1.25.11 or newer, then run `npm run -s pulumi-cli`";
}

/** How to run the CLI: a project folder, a local backend folder and the stack's passphrase. */
export interface PulumiCliOptions {
    cli: PulumiCli;
    /** The folder holding `Pulumi.yaml`; the CLI runs there. */
    projectDir: string;
    /** The `file://` backend's folder: stacks' checkpoints and history. */
    backendDir: string;
    /** The passphrase of the stacks' secrets provider. */
    passphrase: string;
    /** More environment for the CLI and everything it starts (the program, the provider host). */
    env?: Record<string, string>;
}

/** What one `pulumi` command did. */
export interface PulumiRun {
    code: number;
    stdout: string;
    stderr: string;
}

/** The environment the CLI runs with: offline, its own home, the local backend, no prompts. */
export function pulumiEnv(options: PulumiCliOptions): NodeJS.ProcessEnv {
    return {
        ...process.env,
        ...options.env,
        PATH: [options.cli.binDir, process.env.PATH ?? ""].join(path.delimiter),
        PULUMI_HOME: pulumiHome,
        PULUMI_BACKEND_URL: `file://${options.backendDir}`,
        PULUMI_CONFIG_PASSPHRASE: options.passphrase,
        PULUMI_SKIP_UPDATE_CHECK: "true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
        PULUMI_SKIP_CONFIRMATIONS: "true",
    };
}

/**
 * Runs `pulumi <args>` with `--non-interactive --color never` in the project folder without blocking this
 * process (a vault emulator in it keeps answering). Resolves with the exit code and output; rejects
 * when the command fails, unless `allowFailure` is set, or when it runs longer than `timeoutMs`.
 */
export function runPulumi(
    options: PulumiCliOptions, args: string[], opts: { allowFailure?: boolean; timeoutMs?: number } = {},
): Promise<PulumiRun> {
    fs.mkdirSync(options.backendDir, { recursive: true, mode: 0o700 });
    fs.mkdirSync(pulumiHome, { recursive: true, mode: 0o700 });
    // The CLI's own flags go before a `--` that ends the flags (and precedes values such as config).
    const end = args.includes("--") ? args.indexOf("--") : args.length;
    const argv = [...args.slice(0, end), "--non-interactive", "--color", "never", ...args.slice(end)];
    const child = spawn(options.cli.bin, argv, {
        cwd: options.projectDir, env: pulumiEnv(options), stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const timeoutMs = opts.timeoutMs ?? 600_000;
    return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
            child.kill("SIGKILL");
            reject(new Error(`pulumi ${shown(args)} did not finish within ${timeoutMs / 1000} s:\n${stdout}\n${stderr}`));
        }, timeoutMs);
        child.on("error", (e) => {
            clearTimeout(timer);
            reject(e);
        });
        child.on("close", (code) => {
            clearTimeout(timer);
            const run = { code: code ?? -1, stdout, stderr };
            if (run.code !== 0 && !opts.allowFailure) {
                reject(new Error(`pulumi ${shown(args)} failed (exit ${run.code}):\n${stdout}\n${stderr}`));
            } else resolve(run);
        });
    });
}

/**
 * The arguments of `pulumi config set` for one value: `--secret` for a credential's
 * `clientSecret` key, `--plaintext` for every other (the CLI refuses values that merely look like
 * secrets without it), `--path` on request; the key and value after `--`, since a generated value
 * may start with "-".
 */
export function configSetArgs(stack: string, key: string, value: string, opts: { path?: boolean } = {}): string[] {
    return ["config", "set", key.endsWith("clientSecret") ? "--secret" : "--plaintext", ...(opts.path ? ["--path"] : []), "--stack", stack, "--", key, value];
}

/** The command line for a message: the value of `config set --secret` is never shown. */
function shown(args: string[]): string {
    return (args.includes("--secret") ? [...args.slice(0, -1), "[secret]"] : args).join(" ");
}

/** A project for the CLI: what `writeProject` puts in `Pulumi.yaml`. */
export interface ProjectFile {
    name: string;
    /**
     * The compiled program's absolute path (written relative to the project folder). Without it
     * the project runs its folder's own `package.json` main or `index.js`.
     */
    program?: string;
    description?: string;
    /**
     * The language runtime and its options (default nodejs with `typescript: false`), e.g.
     * `{ name: "python" }` (run with `pythonEnv()`) or `{ name: "yaml" }`.
     */
    runtime?: { name: string; options?: Record<string, string | boolean> };
    /** Provider plugins run from a folder, by package name: the project's `plugins.providers`. */
    providers?: Record<string, string>;
}

/**
 * Writes `Pulumi.yaml` for a program (JavaScript unless `project.runtime` says otherwise) into `dir` (made if missing). A stack's
 * `Pulumi.<stack>.yaml` (its config and the passphrase's salt) lands beside it, so a test or the
 * demo gives each project its own folder rather than writing into the repository root.
 */
export function writeProject(dir: string, project: ProjectFile): void {
    fs.mkdirSync(dir, { recursive: true });
    const main = project.program && path.relative(dir, project.program).split(path.sep).join("/");
    const runtime = project.runtime ?? { name: "nodejs", options: { typescript: false } };
    const options = Object.entries(runtime.options ?? {});
    const providers = Object.entries(project.providers ?? {});
    fs.writeFileSync(path.join(dir, "Pulumi.yaml"), [
        `name: ${project.name}`,
        "runtime:",
        `  name: ${runtime.name}`,
        ...(options.length ? ["  options:", ...options.map(([k, v]) => `    ${k}: ${JSON.stringify(v)}`)] : []),
        ...(main ? [`main: ${JSON.stringify(main)}`] : []),
        ...(project.description ? [`description: ${JSON.stringify(project.description)}`] : []),
        ...(providers.length ? ["plugins:", "  providers:", ...providers.flatMap(([name, at]) => [`    - name: ${name}`, `      path: ${JSON.stringify(at)}`])] : []),
        "",
    ].join("\n"));
}
