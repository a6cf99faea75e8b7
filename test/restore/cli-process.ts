/** Runs the built `secret-backup` command as a child process, as a script would. */
import { execFile } from "node:child_process";
import * as path from "node:path";
import { repoRoot } from "../helpers/paths";

/** The compiled bin that package.json maps `secret-backup` to. */
export const cliPath = path.join(repoRoot, "dist", "provider", "cli.js");

/** What one run of the command produced. */
export interface CliRun {
    code: number;
    stdout: string;
    stderr: string;
}

/** Runs `secret-backup ...args` with this process's environment plus `env`; never rejects on a non-zero exit. */
export function runSecretBackup(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
    return new Promise((resolve, reject) => {
        const child = execFile(
            process.execPath,
            [cliPath, ...args],
            { env: { ...process.env, ...env }, timeout: 60_000 },
            (error, stdout, stderr) => {
                if (error && typeof error.code !== "number") return reject(error);
                resolve({ code: child.exitCode ?? 1, stdout, stderr });
            },
        );
    });
}
