/**
 * A small stand-in for the Pulumi engine, for machines without the CLI: `preview`, `up`,
 * `refresh` and `destroy` of one stack, with the program run under mocks (`program.ts`), every
 * dynamic resource sent to one real dynamic-provider host per operation (`host.ts`), and the
 * stack's state kept in memory or in a JSON file. It does what the engine does for dynamic
 * resources (Check, Diff, Create/Update/Delete, Read, secret stripping, unknowns in preview) and
 * nothing more: no parallelism, no aliases, no plugins other than the dynamic-provider host.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { isDeepStrictEqual } from "node:util";
import { ProviderHost } from "./host";
import { Program, Registration, RegistrationResult, runProgram } from "./program";
import { PropertyMap, stripSecrets } from "./wire";

/** One resource in the stack's state. */
export interface ResourceState {
    urn: string;
    type: string;
    id: string;
    inputs: PropertyMap;
    outputs: PropertyMap;
}

/** The stack's state: resources in creation order. */
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
}

const DYNAMIC_TYPE = /^pulumi-nodejs:dynamic\//;

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
        return this.withHost(async (host, steps) => {
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
        return this.withHost(async (host, steps) => {
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
        return this.withHost(async (host, steps) => {
            const prior = new Map(this.state.resources.map((r) => [r.urn, r]));
            const next = new Map<string, ResourceState>();
            const persist = (): void => {
                if (preview) return;
                const untouched = [...prior.values()].filter((r) => !next.has(r.urn));
                this.saveState({ resources: [...untouched, ...next.values()] });
            };
            const register = async (reg: Registration): Promise<RegistrationResult> => {
                const old = prior.get(reg.urn);
                const result = DYNAMIC_TYPE.test(reg.type)
                    ? await this.registerDynamic(host, reg, old, preview, steps)
                    : this.registerOther(reg, old, preview, steps);
                next.set(reg.urn, { urn: reg.urn, type: reg.type, id: result.id, inputs: result.inputs, outputs: result.state });
                persist();
                return result;
            };
            try {
                const run = await runProgram(this.options.program, { ...this.programOptions(preview), register });
                for (const old of [...prior.values()].reverse()) {
                    if (next.has(old.urn)) continue;
                    if (!preview && DYNAMIC_TYPE.test(old.type)) await host.delete(old.id, old.urn, old.outputs, old.inputs);
                    prior.delete(old.urn);
                    persist();
                    steps.push({ urn: old.urn, type: old.type, op: "delete" });
                }
                return { exports: run.exports };
            } finally {
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
        };
    }

    /** Runs `body` with one configured host, as one CLI command would, and always stops it. */
    private async withHost(
        body: (host: ProviderHost, steps: Step[]) => Promise<{ exports?: PropertyMap }>,
    ): Promise<OperationResult> {
        const config = this.config;
        const host = await ProviderHost.start({
            projectRoot: this.options.projectRoot,
            project: this.options.project,
            config,
            env: this.options.env,
        });
        const steps: Step[] = [];
        let exports: PropertyMap = {};
        let error: string | undefined;
        try {
            await host.getPluginInfo(); // as the engine does when it loads a plugin
            await host.configure(config);
            exports = (await body(host, steps)).exports ?? {};
        } catch (e) {
            error = e instanceof Error ? e.message : String(e);
        } finally {
            await host.stop();
        }
        const stdout = host.stdout();
        return { steps, exports, error, hostStdout: stdout.slice(stdout.indexOf("\n") + 1), hostStderr: host.stderr() };
    }
}

function changedKeys(before: PropertyMap, after: PropertyMap): string[] {
    const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
    return [...keys].filter((k) => !isDeepStrictEqual(before[k], after[k])).sort();
}
