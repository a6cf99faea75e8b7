/**
 * The Pulumi CLI, when one is on PATH: found once, run as a child with a local file backend.
 * Where there is none (as on this project's build machines), callers fall back to `LocalEngine`.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { spawnSync } from "node:child_process";

/** The `pulumi` executable on PATH, or undefined. */
export function findPulumi(env: NodeJS.ProcessEnv = process.env): string | undefined {
    for (const dir of (env.PATH ?? "").split(path.delimiter).filter(Boolean)) {
        const candidate = path.join(dir, process.platform === "win32" ? "pulumi.exe" : "pulumi");
        try {
            fs.accessSync(candidate, fs.constants.X_OK);
            return candidate;
        } catch {
            // not in this PATH entry
        }
    }
    return undefined;
}

/** How to run the CLI: the project folder and a local backend (`file://` folder) with a passphrase. */
export interface PulumiCliOptions {
    pulumi: string;
    projectRoot: string;
    backendDir: string;
    passphrase: string;
    env?: Record<string, string>;
}

/** Runs `pulumi <args>` non-interactively; returns stdout, throws with stderr when it fails. */
export function runPulumi(options: PulumiCliOptions, args: string[]): string {
    fs.mkdirSync(options.backendDir, { recursive: true, mode: 0o700 });
    const result = spawnSync(options.pulumi, [...args, "--non-interactive"], {
        cwd: options.projectRoot,
        encoding: "utf8",
        env: {
            ...process.env,
            ...options.env,
            PULUMI_BACKEND_URL: `file://${options.backendDir}`,
            PULUMI_CONFIG_PASSPHRASE: options.passphrase,
            PULUMI_SKIP_UPDATE_CHECK: "true",
        },
    });
    if (result.status !== 0) {
        throw new Error(`pulumi ${args.join(" ")} failed (exit ${result.status}):\n${result.stderr || result.stdout}`);
    }
    return result.stdout;
}
