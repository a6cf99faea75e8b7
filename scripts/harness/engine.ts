/**
 * A small stand-in for the Pulumi engine, for machines without the CLI: `preview`, `up`,
 * `refresh` and `destroy` of one stack. The program runs under Pulumi's own program runner
 * (`runner.ts`: `@pulumi/pulumi/cmd/run` in its own process, or in this process for an inline
 * function, as the Automation API does) and talks gRPC to this engine's ResourceMonitor and Engine
 * (`monitor.ts`); every dynamic resource goes to one real dynamic-provider host per operation
 * (`host.ts`), with up to `parallel` steps in flight; the stack's state is kept in memory or in a
 * JSON file. It does what the engine does for dynamic resources (Check, Diff, Create/Update/
 * Replace/Delete, Read, secret stripping and re-marking, unknowns in preview, aliases by URN) and
 * nothing more: see DEVELOPING.md for what the real engine does that this does not.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { isDeepStrictEqual } from "node:util";
import * as grpc from "@grpc/grpc-js";
import { ProviderHost } from "./host";
import { Diagnostic, EngineRegistration, MonitorRefusal, MonitorServer } from "./monitor";
import type { Program, Registration, RegistrationResult } from "./program";
import { programError, startProgram } from "./runner";
import { PropertyMap, SECRET_SIG, SIG_KEY, isSecret, stripSecrets } from "./wire";

/** One resource in the stack's state. */
export interface ResourceState {
    urn: string;
    type: string;
    id: string;
    inputs: PropertyMap;
    outputs: PropertyMap;
    /** The parent's URN ("" for the root stack); absent in state written before the real runner. */
    parent?: string;
    /** URNs this resource depends on, as the program declared them (`dependsOn` and input outputs). */
    dependencies?: string[];
    /** Per input property, the URNs its value came from. */
    propertyDependencies?: Record<string, string[]>;
    /** Where the program declared it (`<file URL>#<line>,<column>`, as the SDK reports it); absent when the SDK sent none. */
    sourcePosition?: string;
}

/** The stack's state: resources in the order the program registered them (untouched ones first). */
export interface StackState {
    resources: ResourceState[];
}

/** What one step did to one resource. */
export interface Step {
    urn: string;
    type: string;
    op: "create" | "update" | "replace" | "same" | "delete" | "refresh" | "gone";
    /** For `refresh`: the output properties whose values changed (drift). */
    changed?: string[];
}

/** The outcome of one operation. `error` is set when it failed; the state holds what was done. */
export interface OperationResult {
    steps: Step[];
    exports: PropertyMap;
    error?: string;
    /** The host's stdout after its port line (`pulumi.log` output), and its stderr. */
    hostStdout: string;
    hostStderr: string;
    /** What the program logged through the Engine service (`pulumi.log.*`, its failure report), in order. */
    diagnostics: Diagnostic[];
    /** The program runner's stdout and stderr (what `pulumi up` shows under the stack); empty for an inline program. */
    programStdout: string;
    programStderr: string;
    /** The program runner's exit code (32: it logged its error; null: a signal ended it or it never ran; 0 for inline success, 1 for inline failure). */
    programExitCode: number | null;
}

/** Answers registrations of resources that are not dynamic (e.g. an azure-native secret in a test). */
export type OtherResourceHandler = (reg: Registration, preview: boolean) => RegistrationResult;

/** How to run one stack. */
export interface LocalEngineOptions {
    /** The project root: the host's working directory. */
    projectRoot: string;
    project: string;
    stack: string;
    program: Program;
    /** Stack config, keys namespaced `project:key`. */
    config?: Record<string, string>;
    secretKeys?: string[];
    /** Extra environment for the host. */
    env?: Record<string, string>;
    /** A JSON file to keep state in across runs; in memory when absent. */
    statePath?: string;
    otherResources?: OtherResourceHandler;
    /** `--parallel`: resource steps in flight at once (default unbounded, as the CLI's). */
    parallel?: number;
    /** The organization the program sees (`pulumi.getOrganization()`), default "organization". */
    organization?: string;
    /** The longest a program may run before it is stopped and the operation fails (default 30 min). */
    programTimeoutMs?: number;
}

const DYNAMIC_TYPE = /^pulumi-nodejs:dynamic\//;
const STACK_TYPE = "pulumi:pulumi:Stack";
/** The CLI's default `--parallel` (math.MaxInt32: unbounded). */
const UNBOUNDED = 2147483647;
const DEFAULT_PROGRAM_TIMEOUT_MS = 30 * 60_000;
/** How long an inline program gets to end by itself after a failed step. */
const INLINE_GRACE_MS = 60_000;

/** One stack of one project, driven like `pulumi preview/up/refresh/destroy`. */
export class LocalEngine {
    private memoryState: StackState = { resources: [] };
    private config: Record<string, string>;

    constructor(private readonly options: LocalEngineOptions) {
        this.config = { ...options.config };
    }

    /** `pulumi config set key value`: takes effect from the next operation. `key` is namespaced. */
    setConfig(key: string, value: string): void {
        this.config[key] = value;
    }

    /** The current state (read from the state file when there is one). */
    get state(): StackState {
        const file = this.options.statePath;
        if (!file) return this.memoryState;
        return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, "utf8")) as StackState) : { resources: [] };
    }

    private saveState(state: StackState): void {
        this.memoryState = state;
        const file = this.options.statePath;
        if (!file) return;
        fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
        fs.writeFileSync(`${file}.tmp`, JSON.stringify(state, null, 2) + "\n", { mode: 0o600 });
        fs.renameSync(`${file}.tmp`, file);
    }

    /** `pulumi preview`: Check and Diff only; nothing is created, updated or deleted. */
    preview(): Promise<OperationResult> {
        return this.runUpdate(true);
    }

    /** `pulumi up`: creates, updates and deletes to match the program. */
    up(): Promise<OperationResult> {
        return this.runUpdate(false);
    }

    /** `pulumi refresh`: Read every resource and store what the provider reports. */
    refresh(): Promise<OperationResult> {
        return this.withHost(async (hostReady, { steps }) => {
            const host = await hostReady;
            const next: ResourceState[] = [];
            for (const r of this.state.resources) {
                if (!DYNAMIC_TYPE.test(r.type)) {
                    next.push(r);
                    continue;
                }
                const res = await host.read(r.id, r.urn, r.outputs, r.inputs);
                if (!res.id) {
                    steps.push({ urn: r.urn, type: r.type, op: "gone" });
                    continue;
                }
                const changed = changedKeys(r.outputs, res.props);
                steps.push({ urn: r.urn, type: r.type, op: "refresh", changed });
                next.push({ ...r, id: res.id, outputs: res.props, inputs: res.inputs ?? r.inputs });
            }
            this.saveState({ resources: next });
            return {};
        });
    }

    /** `pulumi destroy`: Delete every resource, newest first. */
    destroy(): Promise<OperationResult> {
        return this.withHost(async (hostReady, { steps }) => {
            const host = await hostReady;
            const remaining = [...this.state.resources];
            while (remaining.length) {
                const r = remaining[remaining.length - 1];
                if (DYNAMIC_TYPE.test(r.type)) await host.delete(r.id, r.urn, r.outputs, r.inputs);
                remaining.pop();
                this.saveState({ resources: [...remaining] });
                steps.push({ urn: r.urn, type: r.type, op: "delete" });
            }
            return {};
        });
    }

    private runUpdate(preview: boolean): Promise<OperationResult> {
        return this.withHost(async (hostReady, run) => {
            const prior = new Map(this.state.resources.map((r) => [r.urn, r]));
            const next = new Map<string, ResourceState>();
            const arrival: string[] = [];
            const persist = (): void => {
                if (preview) return;
                const untouched = [...prior.values()].filter((r) => !next.has(r.urn));
                const done = arrival.filter((urn) => next.has(urn)).map((urn) => next.get(urn)!);
                this.saveState({ resources: [...untouched, ...done] });
            };
            const inline = typeof this.options.program === "function";
            // The engine answers registrations that can no longer succeed with UNAVAILABLE ("the
            // monitor is shutting down") and cancels the program; an inline program cannot be
            // cancelled, so it gets the error itself and ends on its own.
            const refusalCode = inline ? grpc.status.UNKNOWN : grpc.status.UNAVAILABLE;
            const slots = new Slots(this.options.parallel ?? UNBOUNDED);
            const inflight = new Set<Promise<unknown>>();
            let stepError: string | undefined;
            let onStepError!: () => void;
            const stepFailed = new Promise<"failed">((resolve) => (onStepError = () => resolve("failed")));
            const types = new Map<string, string>();
            let exports: PropertyMap = {};

            const register = async (reg: EngineRegistration): Promise<RegistrationResult> => {
                if (stepError !== undefined) throw new MonitorRefusal(`not registered: an earlier step failed (${stepError.split("\n")[0]})`, refusalCode);
                if (types.has(reg.urn)) throw new MonitorRefusal(`Duplicate resource URN '${reg.urn}'; try giving it a unique name`, grpc.status.INVALID_ARGUMENT);
                types.set(reg.urn, reg.type);
                arrival.push(reg.urn);
                // State written before the harness ran programs for real holds children under URNs
                // without their parent's type (`…::<type>::<name>`): take those over as aliases, so
                // such a stack upgrades without a replace.
                const legacyUrn = `urn:pulumi:${this.options.stack}::${this.options.project}::${reg.type}::${reg.name}`;
                const formerly = [...reg.aliases, legacyUrn].filter((u) => u !== reg.urn && !types.has(u));
                const old = prior.get(reg.urn) ?? formerly.map((u) => prior.get(u)).find((r) => r !== undefined);
                const work = (async () => {
                    const result = DYNAMIC_TYPE.test(reg.type)
                        ? await slots.run(async () => this.registerDynamic(await hostReady, reg, old, preview, run.steps))
                        : this.registerOther(reg, old, preview, run.steps);
                    if (old && old.urn !== reg.urn) prior.delete(old.urn); // renamed through an alias: the same resource
                    next.set(reg.urn, {
                        urn: reg.urn, type: reg.type, id: result.id, inputs: result.inputs, outputs: result.state,
                        parent: reg.parent, dependencies: reg.dependencies, propertyDependencies: reg.propertyDependencies,
                        ...(reg.sourcePosition ? { sourcePosition: reg.sourcePosition } : {}),
                    });
                    persist();
                    return result;
                })();
                inflight.add(work);
                try {
                    const result = await work;
                    // As the engine does for a provider that does not take secrets: outputs of secret inputs are secret.
                    return { id: result.id, state: annotateSecrets(result.state, reg.inputs) };
                } catch (e) {
                    const message = e instanceof Error ? e.message : String(e);
                    if (stepError === undefined) {
                        stepError = message;
                        onStepError();
                    }
                    throw new MonitorRefusal(message, refusalCode);
                } finally {
                    inflight.delete(work);
                }
            };
            const registerOutputs = (urn: string, outputs: PropertyMap): void => {
                if (types.get(urn) === STACK_TYPE) exports = stripSecrets(outputs);
                const entry = next.get(urn);
                if (entry && !entry.type.match(DYNAMIC_TYPE)) {
                    next.set(urn, { ...entry, outputs: stripSecrets(outputs) });
                    persist();
                }
            };
            const monitor = await MonitorServer.start({
                project: this.options.project, stack: this.options.stack, register, registerOutputs,
                log: (d) => void (d.severity !== "debug" && run.diagnostics.push(d)),
            });
            const timeoutMs = this.options.programTimeoutMs ?? DEFAULT_PROGRAM_TIMEOUT_MS;
            const program = startProgram(this.options.program, {
                ...this.programOptions(preview),
                monitorAddress: monitor.monitorAddress,
                engineAddress: monitor.engineAddress,
                env: this.options.env,
            });
            let timer: NodeJS.Timeout | undefined;
            const timedOut = new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), timeoutMs)));
            try {
                const first = await Promise.race([program.done.then(() => "done" as const), stepFailed, timedOut]);
                if (first !== "done") {
                    // As the engine: steps in flight finish, no new one starts, the program is cancelled.
                    await settle(inflight, timedOut);
                    await program.stop();
                }
                // After a failed step an inline program (which cannot be stopped) gets a short grace to end.
                let graceTimer: NodeJS.Timeout | undefined;
                const grace = first !== "done" && inline
                    ? new Promise<"timeout">((resolve) => (graceTimer = setTimeout(() => resolve("timeout"), INLINE_GRACE_MS)))
                    : timedOut;
                const outcome = await Promise.race([program.done, timedOut, grace]);
                clearTimeout(graceTimer);
                if (outcome === "timeout") {
                    if (stepError !== undefined) throw new Error(stepError);
                    await program.stop();
                    throw new Error(`the program did not finish within ${timeoutMs} ms; stopped it`);
                }
                run.programStdout = outcome.stdout;
                run.programStderr = outcome.stderr;
                run.programExitCode = outcome.exitCode;
                await settle(inflight, timedOut);
                if (stepError !== undefined) throw new Error(stepError);
                const failure = programError(outcome, run.diagnostics);
                if (failure !== undefined) throw new Error(failure);
                const host = await hostReady;
                for (const old of [...prior.values()].reverse()) {
                    if (next.has(old.urn)) continue;
                    if (!preview && DYNAMIC_TYPE.test(old.type)) await host.delete(old.id, old.urn, old.outputs, old.inputs);
                    prior.delete(old.urn);
                    persist();
                    run.steps.push({ urn: old.urn, type: old.type, op: "delete" });
                }
                return { exports };
            } finally {
                clearTimeout(timer);
                await program.stop();
                await monitor.stop();
                persist();
            }
        });
    }

    private async registerDynamic(
        host: ProviderHost, reg: Registration, old: ResourceState | undefined, preview: boolean, steps: Step[],
    ): Promise<RegistrationResult & { inputs: PropertyMap }> {
        const news = stripSecrets(reg.inputs);
        const checked = await host.check(reg.urn, old?.inputs ?? {}, news);
        if (checked.failures.length) {
            const lines = checked.failures.map((f) => `  ${f.property}: ${f.reason}`);
            throw new Error(`${reg.urn} has invalid inputs:\n${lines.join("\n")}`);
        }
        const inputs = checked.inputs;
        if (!old) {
            steps.push({ urn: reg.urn, type: reg.type, op: "create" });
            if (preview) return { id: "", state: inputs, inputs };
            const created = await host.create(reg.urn, inputs);
            return { id: created.id, state: created.outs, inputs };
        }
        const diff = await host.diff(old.id, reg.urn, old.outputs, inputs, old.inputs);
        const changed = diff.changes === "some" || (diff.changes === "unknown" && !isDeepStrictEqual(old.inputs, inputs));
        if (!changed) {
            steps.push({ urn: reg.urn, type: reg.type, op: "same" });
            return { id: old.id, state: old.outputs, inputs };
        }
        if (diff.replaces.length) {
            steps.push({ urn: reg.urn, type: reg.type, op: "replace" });
            if (preview) return { id: "", state: inputs, inputs };
            const created = await host.create(reg.urn, inputs);
            await host.delete(old.id, reg.urn, old.outputs, old.inputs);
            return { id: created.id, state: created.outs, inputs };
        }
        steps.push({ urn: reg.urn, type: reg.type, op: "update" });
        if (preview) return { id: old.id, state: inputs, inputs };
        const outs = await host.update(old.id, reg.urn, old.outputs, inputs, old.inputs);
        return { id: old.id, state: outs, inputs };
    }

    private registerOther(
        reg: Registration, old: ResourceState | undefined, preview: boolean, steps: Step[],
    ): RegistrationResult & { inputs: PropertyMap } {
        const inputs = stripSecrets(reg.inputs);
        const result = this.options.otherResources?.(reg, preview) ?? { id: reg.custom ? `${reg.name}-id` : "", state: inputs };
        const same = old && isDeepStrictEqual(old.inputs, inputs);
        steps.push({ urn: reg.urn, type: reg.type, op: !old ? "create" : same ? "same" : "update" });
        return { ...result, inputs };
    }

    private programOptions(preview: boolean) {
        return {
            project: this.options.project,
            stack: this.options.stack,
            cwd: this.options.projectRoot,
            config: this.config,
            secretKeys: this.options.secretKeys,
            preview,
            parallel: this.options.parallel ?? UNBOUNDED,
            organization: this.options.organization,
        };
    }

    /**
     * Runs `body` with one host, as one CLI command would, and always stops it. The host starts
     * (and gets GetPluginInfo and Configure, as the engine does when it loads a plugin) while
     * `body` begins, so an update's program starts alongside it; `body` awaits `host` when it needs it.
     */
    private async withHost(body: (host: Promise<ProviderHost>, run: RunRecord) => Promise<{ exports?: PropertyMap }>): Promise<OperationResult> {
        const config = this.config;
        let started: ProviderHost | undefined;
        const host = (async () => {
            started = await ProviderHost.start({
                projectRoot: this.options.projectRoot,
                project: this.options.project,
                config,
                env: this.options.env,
            });
            await started.getPluginInfo();
            await started.configure(config);
            return started;
        })();
        host.catch(() => undefined); // reported through body, which awaits it
        const run: RunRecord = { steps: [], diagnostics: [], programStdout: "", programStderr: "", programExitCode: null };
        let exports: PropertyMap = {};
        let error: string | undefined;
        try {
            exports = (await body(host, run)).exports ?? {};
        } catch (e) {
            error = e instanceof Error ? e.message : String(e);
        } finally {
            await host.catch(() => undefined);
            await started?.stop();
        }
        const stdout = started?.stdout() ?? "";
        return {
            steps: run.steps, exports, error, hostStdout: stdout.slice(stdout.indexOf("\n") + 1), hostStderr: started?.stderr() ?? "",
            diagnostics: run.diagnostics, programStdout: run.programStdout, programStderr: run.programStderr,
            programExitCode: run.programExitCode,
        };
    }
}

/** What one operation collects as it goes. */
interface RunRecord {
    steps: Step[];
    diagnostics: Diagnostic[];
    programStdout: string;
    programStderr: string;
    programExitCode: number | null;
}

/** At most `limit` tasks at once, the rest queued in arrival order (the engine's `--parallel`). */
class Slots {
    private running = 0;
    private readonly queue: (() => void)[] = [];

    constructor(private readonly limit: number) {}

    async run<T>(task: () => Promise<T>): Promise<T> {
        if (this.running >= this.limit) await new Promise<void>((resolve) => this.queue.push(resolve));
        this.running++;
        try {
            return await task();
        } finally {
            this.running--;
            this.queue.shift()?.();
        }
    }
}

/** Waits for every promise in `inflight` (including ones added meanwhile) to settle, or for `deadline`. */
async function settle(inflight: Set<Promise<unknown>>, deadline: Promise<unknown>): Promise<void> {
    let expired = false;
    void deadline.then(() => (expired = true));
    while (inflight.size && !expired) {
        await Promise.race([Promise.allSettled([...inflight]), deadline]);
    }
}

/**
 * Marks as secret each output whose input was secret (recursing into objects), as the engine does
 * for a provider that does not accept secrets (`annotateSecrets` in its provider plugin).
 */
function annotateSecrets(outputs: PropertyMap, inputs: PropertyMap): PropertyMap {
    const out: PropertyMap = { ...outputs };
    for (const [k, input] of Object.entries(inputs)) {
        if (!(k in out)) continue;
        if (isSecret(input)) out[k] = isSecret(out[k]) ? out[k] : { [SIG_KEY]: SECRET_SIG, value: out[k] };
        else if (isPlainObject(input) && isPlainObject(out[k])) out[k] = annotateSecrets(out[k] as PropertyMap, input);
    }
    return out;
}

function isPlainObject(v: unknown): v is PropertyMap {
    return typeof v === "object" && v !== null && !Array.isArray(v);
}

function changedKeys(before: PropertyMap, after: PropertyMap): string[] {
    const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
    return [...keys].filter((k) => !isDeepStrictEqual(before[k], after[k])).sort();
}
