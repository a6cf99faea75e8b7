/**
 * Runs a Pulumi program in this process under `pulumi.runtime.setMocks`, the way the language host
 * runs it under the engine: config set, the program's module loaded inside the root stack, every
 * registration handed to a callback with its inputs in the engine's wire form (`__provider`
 * included, unknowns as the sentinel string), and the stack's exports returned.
 */
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { PropertyMap, UNKNOWN } from "./wire";

/** One resource registration as the engine receives it. */
export interface Registration {
    type: string;
    name: string;
    /** `urn:pulumi:<stack>::<project>::<type>::<name>` */
    urn: string;
    /** Custom resource (has a provider) rather than a component. */
    custom: boolean;
    /** Inputs in wire form: unknowns are `UNKNOWN`, secrets keep their markers. */
    inputs: PropertyMap;
}

/** What the engine answers for a registration: the id and the state (outputs). */
export interface RegistrationResult {
    id: string;
    state: PropertyMap;
}

/** How to run a program. */
export interface ProgramOptions {
    project: string;
    stack: string;
    /** Stack config, keys namespaced `project:key`; structured values as JSON strings. */
    config: Record<string, string>;
    /** Keys of `config` that are secrets. */
    secretKeys?: string[];
    /**
     * The program's working directory, as the language host sets it (the Pulumi project folder);
     * this process moves there for the run and back afterwards. Default: stay where it is.
     */
    cwd?: string;
    /** Preview (`isDryRun()` true, missing outputs are unknown) or update. */
    preview: boolean;
    /** Called for each registration, in program order per dependency chain. */
    register(reg: Registration): Promise<RegistrationResult>;
}

/** What a program run produced. */
export interface ProgramRun {
    /** The stack's exports, resolved (unknown exports are `UNKNOWN`). */
    exports: PropertyMap;
    /** Every registration, in the order they arrived. */
    registrations: Registration[];
}

/** A program: a module path (relative to the working directory; loaded fresh on every run) or a function returning the exports. */
export type Program = string | (() => unknown);

/** Runs `program` once; rejects when the program or any registration fails. */
export async function runProgram(program: Program, options: ProgramOptions): Promise<ProgramRun> {
    const registrations: Registration[] = [];
    const failures: unknown[] = [];
    await pulumi.runtime.setMocks(
        {
            newResource: async (args) => {
                const reg: Registration = {
                    type: args.type,
                    name: args.name,
                    urn: `urn:pulumi:${options.stack}::${options.project}::${args.type}::${args.name}`,
                    custom: args.custom ?? true,
                    inputs: toWire(args.inputs) as PropertyMap,
                };
                registrations.push(reg);
                try {
                    return await options.register(reg);
                } catch (e) {
                    // The SDK reads a gRPC UNAVAILABLE or CANCELLED code from the monitor as "the engine
                    // is shutting down" and waits forever; a crashed provider host must fail the run.
                    const failure = e instanceof Error && typeof (e as { code?: unknown }).code === "number" ? new Error(e.message) : e;
                    failures.push(failure);
                    throw failure;
                }
            },
            call: () => {
                throw new Error("invokes are not supported by this harness");
            },
        },
        options.project,
        options.stack,
        options.preview,
    );
    pulumi.runtime.setAllConfig(options.config, options.secretKeys ?? []);
    // A failed registration surfaces as an unhandled rejection in the program, as under the real
    // language host, which reports it as the program's failure; do the same.
    const onUnhandled = (reason: unknown): void => void (failures.includes(reason) || failures.push(reason));
    process.on("unhandledRejection", onUnhandled);
    const home = process.cwd();
    if (options.cwd) process.chdir(options.cwd);
    let exports: PropertyMap = {};
    try {
        exports = ((await pulumi.runtime.runInPulumiStack(async () => load(program))) ?? {}) as PropertyMap;
    } catch (e) {
        failures.push(e);
    }
    try {
        // The language host waits for outstanding registrations before it reports the program done.
        await (pulumi.runtime as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs();
        await new Promise((resolve) => setImmediate(resolve));
    } finally {
        process.off("unhandledRejection", onUnhandled);
        process.chdir(home);
    }
    if (failures.length) throw failures[0];
    return { exports: toWire(exports) as PropertyMap, registrations };
}

function load(program: Program): unknown {
    if (typeof program === "function") return program();
    const resolved = require.resolve(path.resolve(program));
    delete require.cache[resolved];
    return require(resolved);
}

/** Turns deserialized values back into wire form: unknowns become the sentinel string. */
function toWire(value: unknown): unknown {
    if (pulumi.isUnknown(value)) return UNKNOWN;
    if (Array.isArray(value)) return value.map(toWire);
    if (typeof value === "object" && value !== null && Object.getPrototypeOf(value) === Object.prototype) {
        const out: PropertyMap = {};
        for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = toWire(v);
        return out;
    }
    return value;
}
