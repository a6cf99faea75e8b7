/**
 * A stack run through the real Pulumi CLI (see `scripts/harness/pulumi-cli.ts`): its own project
 * folder, `file://` backend and stack config, so tests never write into the repository root.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { RunningEmulator } from "../../emulator";
import { type ProjectFile, type PulumiCli, type PulumiRun, configSetArgs, findPulumi, goAvailable, noCliReason, runPulumi, writeProject } from "../../scripts/harness/pulumi-cli";
import { uniqueName } from "./emulator";
import { uniqueFolder } from "./program";

/**
 * The CLI for a `describe` block's `before` hook. Where Go is on PATH, `npm test` has built it, so
 * a missing CLI fails the hook (no CLI test is skipped on a machine with Go); elsewhere the block
 * is skipped and its title says why.
 */
export function requireCli(ctx: Mocha.Context): PulumiCli {
    const cli = findPulumi();
    if (cli) return cli;
    if (goAvailable()) throw new Error(`Go is on PATH but ${noCliReason()}`);
    ctx.skip();
}

/** A title suffix saying why a CLI block will be skipped here ("" where it will run). */
export function cliSkipNote(): string {
    return findPulumi() || goAvailable() ? "" : ` (skipped: ${noCliReason()})`;
}

/** One stack of a project folder, with helpers that run `pulumi` commands against it. */
export class CliStack {
    readonly work: string;
    readonly projectDir: string;
    readonly backendDir: string;
    readonly stack: string;

    /**
     * `project.program` is the compiled program's absolute path, for which a `Pulumi.yaml` is
     * written; without it the caller writes the project folder's files (see `writeSourceProject`).
     * `env` goes to the CLI and everything it starts.
     */
    constructor(readonly cli: PulumiCli, readonly project: ProjectFile, readonly env: Record<string, string> = {}) {
        this.work = uniqueFolder("cli");
        this.projectDir = path.join(this.work, "project");
        this.backendDir = path.join(this.work, "state");
        this.stack = uniqueName("st");
        fs.mkdirSync(this.projectDir, { recursive: true });
        if (project.program) writeProject(this.projectDir, project);
    }

    /** Runs `pulumi <args>` in the project folder against this stack's backend. */
    run(args: string[], opts: { allowFailure?: boolean; timeoutMs?: number } = {}): Promise<PulumiRun> {
        return runPulumi({ cli: this.cli, projectDir: this.projectDir, backendDir: this.backendDir, passphrase: "cli-test-passphrase", env: this.env }, args, opts);
    }

    /**
     * `pulumi stack init`, then each config value: a `clientSecret` key (as in
     * `azureNativeConfig`'s credential) with `--secret`, every other one with `--plaintext`.
     */
    async init(config: Record<string, string>): Promise<void> {
        await this.run(["stack", "init", this.stack]);
        for (const [k, v] of Object.entries(config)) await this.set(k, v);
    }

    /** `pulumi config set` of one value (see `configSetArgs`: `--secret` for a `clientSecret` key). */
    set(key: string, value: string): Promise<PulumiRun> {
        return this.run(configSetArgs(this.stack, key, value));
    }

    /** `pulumi up --yes` (plus `args`); rejects when it fails unless `allowFailure`. */
    up(args: string[] = [], opts: { allowFailure?: boolean } = {}): Promise<PulumiRun> {
        return this.run(["up", "--yes", "--skip-preview", "--stack", this.stack, ...args], opts);
    }

    /** `pulumi stack output --json`, parsed; secrets stay `[secret]` unless `showSecrets`. */
    async outputs(showSecrets = false): Promise<Record<string, unknown>> {
        const r = await this.run(["stack", "output", "--json", "--stack", this.stack, ...(showSecrets ? ["--show-secrets"] : [])]);
        return JSON.parse(r.stdout) as Record<string, unknown>;
    }

    /** `pulumi stack export` (the checkpoint's deployment, secrets encrypted), as text. */
    async exportText(): Promise<string> {
        return (await this.run(["stack", "export", "--stack", this.stack])).stdout;
    }

    /** The stack's config file as the CLI wrote it. */
    configFileText(): string {
        return fs.readFileSync(path.join(this.projectDir, `Pulumi.${this.stack}.yaml`), "utf8");
    }
}

/**
 * A user's own project in `dir`: `Pulumi.yaml` (no main), the program as `index.js` and a
 * `package.json` with `dependencies`. Its own package.json matters: without one, a folder inside
 * this repository (scratch is) runs the repository's main.
 */
export function writeSourceProject(dir: string, name: string, source: string, dependencies: Record<string, string> = {}): void {
    writeProject(dir, { name });
    fs.writeFileSync(path.join(dir, "index.js"), source);
    fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name, version: "1.0.0", private: true, main: "index.js", dependencies }));
}

/** The vault-facing environment every CLI stack here needs: the emulator's Entra stand-in. */
export function emulatorEnv(emulator: RunningEmulator): Record<string, string> {
    return { AZURE_AUTHORITY_HOST: emulator.authorityHost };
}

/** Resource counts from the CLI's summary ("Resources:\n    + 1 created\n    ~ 1 updated\n    2 unchanged"). */
export function summaryCounts(output: string): Record<string, number> {
    const counts: Record<string, number> = {};
    const block = output.slice(output.lastIndexOf("Resources:"));
    for (const m of block.matchAll(/^\s+(?:[+~\-]+\s+)?(\d+) (created|updated|deleted|replaced|unchanged|to create|to update|to delete|to replace|errored)\b/gm)) {
        counts[m[2]] = Number(m[1]);
    }
    return counts;
}
