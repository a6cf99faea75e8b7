/**
 * Runs a Pulumi program against the harness's ResourceMonitor and Engine (`monitor.ts`) the way
 * Pulumi does:
 * - a module path: as the Node.js language host does, `node node_modules/@pulumi/pulumi/cmd/run
 *   <program>` in the project folder, in its own process group, with the flags and environment
 *   the language host gives it; the program is done when that process exits (cmd/run waits for the
 *   event loop to drain, `beforeExit`, then signals shutdown), and its exit code says how it went;
 * - a function: in this process, as the Automation API runs an inline program
 *   (`@pulumi/pulumi/automation/server.js`): a fresh runtime store pointed at the monitor, the
 *   function run inside the root stack, then `disconnect`.
 */
import { spawn, ChildProcess } from "node:child_process";
import * as path from "node:path";
import type { Diagnostic } from "./monitor";
import type { Program } from "./program";
import { PARENT_PID_ENV, signalGroup, trackGroup, untrackGroup } from "./process-group";

/** What the language host is told about the run. */
export interface RunnerOptions {
    project: string;
    stack: string;
    /** The project folder: the program's working directory and where node_modules is. */
    cwd: string;
    /** Stack config, keys namespaced `project:key` (`PULUMI_CONFIG`). */
    config: Record<string, string>;
    /** Keys of `config` that are secrets (`PULUMI_CONFIG_SECRET_KEYS`). */
    secretKeys?: string[];
    preview: boolean;
    /** `--parallel` (`PULUMI_NODEJS_PARALLEL`). */
    parallel: number;
    organization?: string;
    /** `host:port` of the monitor and of the engine. */
    monitorAddress: string;
    engineAddress: string;
    /** Extra environment for the program process (e.g. `AZURE_AUTHORITY_HOST`). */
    env?: Record<string, string>;
}

/** How a program run ended. */
export interface RunnerOutcome {
    /** The process's exit code (0, 32 after an error it logged, another code otherwise); null when a signal ended it. */
    exitCode: number | null;
    signal: NodeJS.Signals | null;
    /** For an inline program: the error it ended with. */
    error?: string;
    stdout: string;
    stderr: string;
}

/** Preloaded into the runner: see inspect-guard.ts (a Node 20.20 bug that hangs a program failing inside an `apply`). */
const INSPECT_GUARD = path.join(__dirname, "inspect-guard.js");
/** Preloaded into the runner: it exits when this process is gone (see parent-watch.ts). */
const PARENT_WATCH = path.join(__dirname, "parent-watch.js");

/** cmd/run's exit code after it logged a user-actionable error through the engine (`nodeJSProcessExitedAfterLoggingUserActionableMessage`). */
export const EXIT_LOGGED_ERROR = 32;

/** A running program; `done` settles when it has ended (never rejects). */
export interface RunningProgram {
    /** The runner process's id (its process group), or undefined for an inline program. */
    pid?: number;
    done: Promise<RunnerOutcome>;
    /** Ends the program as the engine does when it cancels an update (the process group gets SIGTERM, then SIGKILL). */
    stop(): Promise<void>;
}

/** The cmd/run entry point inside the project's installed SDK, where the language host looks for it. */
export function runnerEntryPoint(projectRoot: string): string {
    return path.join(projectRoot, "node_modules", "@pulumi", "pulumi", "cmd", "run");
}

/** Starts `program` (a module path or a function) against the monitor. */
export function startProgram(program: Program, options: RunnerOptions): RunningProgram {
    return typeof program === "function" ? startInline(program, options) : startProcess(program, options);
}

function startProcess(program: string, o: RunnerOptions): RunningProgram {
    // The flags the Go language host passes (cmd/run copies them into PULUMI_NODEJS_*), and the
    // same values in the environment, as the issue's contract and settings.js read them.
    const args = [
        "--require", INSPECT_GUARD,
        "--require", PARENT_WATCH,
        runnerEntryPoint(o.cwd),
        `--monitor=${o.monitorAddress}`,
        `--engine=${o.engineAddress}`,
        `--project=${o.project}`,
        `--stack=${o.stack}`,
        `--pwd=${o.cwd}`,
        `--root-directory=${o.cwd}`,
        `--parallel=${o.parallel}`,
        ...(o.organization ? [`--organization=${o.organization}`] : []),
        ...(o.preview ? ["--dry-run"] : []),
        path.resolve(o.cwd, program),
    ];
    const child: ChildProcess = spawn(process.execPath, args, {
        cwd: o.cwd,
        detached: true,
        stdio: ["ignore", "pipe", "pipe"],
        env: {
            ...process.env,
            ...o.env,
            PULUMI_NODEJS_MONITOR: o.monitorAddress,
            PULUMI_NODEJS_ENGINE: o.engineAddress,
            PULUMI_NODEJS_PROJECT: o.project,
            PULUMI_NODEJS_STACK: o.stack,
            PULUMI_NODEJS_ROOT_DIRECTORY: o.cwd,
            PULUMI_NODEJS_DRY_RUN: String(o.preview),
            PULUMI_NODEJS_PARALLEL: String(o.parallel),
            PULUMI_NODEJS_ORGANIZATION: o.organization ?? "organization",
            PULUMI_CONFIG: JSON.stringify(o.config),
            PULUMI_CONFIG_SECRET_KEYS: JSON.stringify(o.secretKeys ?? []),
            [PARENT_PID_ENV]: String(process.pid),
        },
    });
    const out: string[] = [];
    const err: string[] = [];
    child.stdout?.setEncoding("utf8").on("data", (c: string) => out.push(c));
    child.stderr?.setEncoding("utf8").on("data", (c: string) => err.push(c));
    const pid = child.pid;
    if (pid) trackGroup(pid);
    const done = new Promise<RunnerOutcome>((resolve) => {
        const finish = (exitCode: number | null, signal: NodeJS.Signals | null, error?: string): void => {
            if (pid) untrackGroup(pid);
            resolve({ exitCode, signal, error, stdout: out.join(""), stderr: err.join("") });
        };
        child.once("error", (e) => finish(null, null, `could not start the program runner: ${e.message}`));
        // "close", not "exit": the pipes are drained, so the last lines are in.
        child.once("close", (code, signal) => finish(code, signal));
    });
    return {
        pid,
        done,
        async stop() {
            if (!pid || child.exitCode !== null || child.signalCode !== null) return;
            signalGroup(pid, "SIGTERM");
            const killer = setTimeout(() => signalGroup(pid, "SIGKILL"), 3000);
            await done;
            clearTimeout(killer);
            // Anything the program started in its group goes with it.
            signalGroup(pid, "SIGKILL");
        },
    };
}

/* eslint-disable @typescript-eslint/no-var-requires */
function startInline(program: () => unknown, o: RunnerOptions): RunningProgram {
    // The SDK's own inline-program path (automation/server.js `run`), with its internal modules.
    const settings = require("@pulumi/pulumi/runtime/settings");
    const config = require("@pulumi/pulumi/runtime/config");
    const stack = require("@pulumi/pulumi/runtime/stack");
    const state = require("@pulumi/pulumi/runtime/state");
    const log = require("@pulumi/pulumi/log");
    const done = state.withLocalStorage(async (): Promise<RunnerOutcome> => {
        const errors = new Set<unknown>();
        const onUncaught = (e: unknown): void => void errors.add(e);
        const home = process.cwd();
        let failure: string | undefined;
        try {
            settings.resetOptions(o.project, o.stack, o.parallel, o.engineAddress, o.monitorAddress, o.preview, o.organization ?? "organization");
            config.setAllConfig(o.config, o.secretKeys ?? []);
            process.on("uncaughtException", onUncaught);
            process.on("unhandledRejection", onUncaught);
            process.chdir(o.cwd);
            try {
                await stack.runInPulumiStack(program);
                await settings.disconnect(true);
            } catch (e) {
                await settings.disconnect(false);
                errors.add(e);
            }
            if (errors.size || log.hasErrors()) {
                failure = errors.size ? [...errors].map((e) => (e instanceof Error ? e.message : String(e))).join("\n") : "the program logged errors";
            }
        } catch (e) {
            failure = e instanceof Error ? e.message : String(e);
        } finally {
            process.off("uncaughtException", onUncaught);
            process.off("unhandledRejection", onUncaught);
            process.chdir(home);
        }
        return { exitCode: failure ? 1 : 0, signal: null, error: failure, stdout: "", stderr: "" };
    }) as Promise<RunnerOutcome>;
    return { done, stop: async () => undefined };
}

/**
 * The run's error as `pulumi up` reports it, or undefined when the program succeeded: the errors it
 * logged (exit 32), or the language host's "Program exited with non-zero exit code" with what it
 * wrote to stderr.
 */
export function programError(outcome: RunnerOutcome, diagnostics: Diagnostic[]): string | undefined {
    if (outcome.error) return outcome.error;
    if (outcome.exitCode === 0) return undefined;
    const logged = diagnostics.filter((d) => d.severity === "error").map((d) => d.message.trimEnd());
    if (outcome.exitCode === EXIT_LOGGED_ERROR && logged.length) return logged.join("\n");
    const how = outcome.signal ? `was stopped by ${outcome.signal}` : `exited with non-zero exit code: ${outcome.exitCode}`;
    const detail = [...logged, outcome.stderr.trim()].filter(Boolean).join("\n");
    return `Program ${how}${detail ? `\n${detail}` : ""}`;
}
