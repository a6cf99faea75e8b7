/**
 * Starts `@pulumi/pulumi`'s dynamic-provider host the way the engine does and calls it over
 * gRPC with the stubs the SDK ships. One `ProviderHost` is one plugin process: the engine starts
 * one per `pulumi preview/up/refresh/destroy` and sends every dynamic resource to it.
 */
import { spawn, ChildProcess } from "node:child_process";
import * as path from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as provproto from "@pulumi/pulumi/proto/provider_pb";
import { ResourceProviderClient } from "@pulumi/pulumi/proto/provider_grpc_pb";
import { PluginInfo } from "@pulumi/pulumi/proto/plugin_pb";
import { Empty } from "google-protobuf/google/protobuf/empty_pb";
import { PropertyMap, fromStruct, toStruct } from "./wire";
import { PARENT_PID_ENV, signalGroup, trackGroup, untrackGroup } from "./process-group";

/** Preloaded into the host: it exits when this process is gone (see parent-watch.ts). */
const PARENT_WATCH = path.join(__dirname, "parent-watch.js");

/** How to start a host. */
export interface HostOptions {
    /** The Pulumi project's root folder: the host's working directory, where node_modules is. */
    projectRoot: string;
    /** The project name (`PULUMI_NODEJS_PROJECT`), used to namespace config keys. */
    project: string;
    /** The stack's config, keys namespaced `project:key` (`PULUMI_CONFIG`). */
    config?: Record<string, string>;
    /** Extra environment on top of this process's (e.g. `AZURE_AUTHORITY_HOST`). */
    env?: Record<string, string>;
    /** How long to wait for the port line, ms (default 30 000). */
    startTimeoutMs?: number;
}

/** A failed gRPC call: `code` is the gRPC status, `details` the provider's full message. */
export class HostCallError extends Error {
    constructor(readonly method: string, readonly code: number, readonly details: string) {
        super(`${method} failed (gRPC ${code}): ${details}`);
    }
}

/** What Check returned: the inputs to use and the failures, one per property. */
export interface CheckResult {
    inputs: PropertyMap;
    failures: { property: string; reason: string }[];
}

/** What Diff returned. `changes` is "some", "none" or "unknown" (the provider had no opinion). */
export interface DiffResult {
    changes: "some" | "none" | "unknown";
    replaces: string[];
    deleteBeforeReplace: boolean;
}

const DIFF_NAMES: Record<number, DiffResult["changes"]> = {
    [provproto.DiffResponse.DiffChanges.DIFF_SOME]: "some",
    [provproto.DiffResponse.DiffChanges.DIFF_NONE]: "none",
    [provproto.DiffResponse.DiffChanges.DIFF_UNKNOWN]: "unknown",
};

/**
 * The host entry point inside the installed SDK, where the engine's plugin wrapper
 * (`pulumi-resource-pulumi-nodejs`) looks for it: `./node_modules/...` of the project folder.
 */
export function hostEntryPoint(projectRoot: string): string {
    return path.join(projectRoot, "node_modules", "@pulumi", "pulumi", "cmd", "dynamic-provider", "index.js");
}

/** A running dynamic-provider host and a gRPC client connected to it. */
export class ProviderHost {
    private readonly stdoutChunks: string[] = [];
    private readonly stderrChunks: string[] = [];
    private client?: ResourceProviderClient;
    private exited: Promise<void>;

    private constructor(private readonly child: ChildProcess) {
        child.stdout?.setEncoding("utf8").on("data", (c: string) => this.stdoutChunks.push(c));
        child.stderr?.setEncoding("utf8").on("data", (c: string) => this.stderrChunks.push(c));
        // Its own process group: stopped when this process exits or gets SIGINT/SIGTERM/SIGHUP.
        if (child.pid) trackGroup(child.pid);
        this.exited = new Promise((resolve) => child.once("exit", () => {
            if (child.pid) untrackGroup(child.pid);
            resolve();
        }));
    }

    /** Spawns the host in its own process group and connects once it prints its port. */
    static async start(options: HostOptions): Promise<ProviderHost> {
        const child = spawn(process.execPath, ["--require", PARENT_WATCH, hostEntryPoint(options.projectRoot), "127.0.0.1:1"], {
            cwd: options.projectRoot,
            detached: true,
            stdio: ["ignore", "pipe", "pipe"],
            env: {
                ...process.env,
                ...options.env,
                PULUMI_NODEJS_PROJECT: options.project,
                PULUMI_CONFIG: JSON.stringify(options.config ?? {}),
                [PARENT_PID_ENV]: String(process.pid),
            },
        });
        const host = new ProviderHost(child);
        try {
            const port = await host.waitForPort(options.startTimeoutMs ?? 30_000);
            host.client = new ResourceProviderClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
            return host;
        } catch (e) {
            await host.stop();
            throw e;
        }
    }

    /** The host's process id (also its process group id). */
    get pid(): number {
        return this.child.pid ?? -1;
    }

    /** Everything the host wrote to stdout so far (the port line, then `pulumi.log` output). */
    stdout(): string {
        return this.stdoutChunks.join("");
    }

    /** Everything the host wrote to stderr so far. */
    stderr(): string {
        return this.stderrChunks.join("");
    }

    private waitForPort(timeoutMs: number): Promise<number> {
        return new Promise((resolve, reject) => {
            const timer = setTimeout(() => fail(new Error(`provider host printed no port within ${timeoutMs} ms`)), timeoutMs);
            const onData = (): void => {
                const line = this.stdout().split("\n");
                if (line.length < 2) return;
                const port = Number(line[0].trim());
                if (Number.isInteger(port) && port > 0) done(port);
                else fail(new Error(`provider host's first line is not a port: ${JSON.stringify(line[0])}`));
            };
            const onExit = (code: number | null): void =>
                fail(new Error(`provider host exited (${code}) before printing a port: ${this.stderr()}`));
            const cleanup = (): void => {
                clearTimeout(timer);
                this.child.stdout?.off("data", onData);
                this.child.off("exit", onExit);
            };
            const done = (port: number): void => (cleanup(), resolve(port));
            const fail = (e: Error): void => (cleanup(), reject(e));
            this.child.stdout?.on("data", onData);
            this.child.once("exit", onExit);
            onData();
        });
    }

    private call<Req, Res>(method: string, request: Req): Promise<Res> {
        const client = this.client as unknown as Record<string, Function>;
        if (!client) return Promise.reject(new Error("provider host is not connected"));
        return new Promise((resolve, reject) => {
            client[method].call(this.client, request, (err: grpc.ServiceError | null, res: Res) => {
                if (err) reject(new HostCallError(method, err.code, err.details));
                else resolve(res);
            });
        });
    }

    /** GetPluginInfo: the SDK version the host runs. */
    async getPluginInfo(): Promise<string> {
        const res = await this.call<Empty, PluginInfo>("getPluginInfo", new Empty());
        return res.getVersion();
    }

    /** Configure with the stack's config (namespaced keys, plain values: the engine strips secrets). */
    async configure(config: Record<string, string>): Promise<{ acceptSecrets: boolean }> {
        const req = new provproto.ConfigureRequest().setArgs(toStruct(config)).setAcceptsecrets(true);
        for (const [k, v] of Object.entries(config)) req.getVariablesMap().set(k, v);
        const res = await this.call<provproto.ConfigureRequest, provproto.ConfigureResponse>("configure", req);
        return { acceptSecrets: res.getAcceptsecrets() };
    }

    /** Check: `olds` are the last inputs (empty on create), `news` the program's. */
    async check(urn: string, olds: PropertyMap, news: PropertyMap): Promise<CheckResult> {
        const req = new provproto.CheckRequest().setUrn(urn).setOlds(toStruct(olds)).setNews(toStruct(news));
        const res = await this.call<provproto.CheckRequest, provproto.CheckResponse>("check", req);
        return {
            inputs: fromStruct(res.getInputs()),
            failures: res.getFailuresList().map((f) => ({ property: f.getProperty(), reason: f.getReason() })),
        };
    }

    /** Diff: `olds` are the last outputs (state), `news` the checked inputs. */
    async diff(id: string, urn: string, olds: PropertyMap, news: PropertyMap, oldInputs: PropertyMap): Promise<DiffResult> {
        const req = new provproto.DiffRequest()
            .setId(id).setUrn(urn).setOlds(toStruct(olds)).setNews(toStruct(news)).setOldInputs(toStruct(oldInputs));
        const res = await this.call<provproto.DiffRequest, provproto.DiffResponse>("diff", req);
        return {
            changes: DIFF_NAMES[res.getChanges()] ?? "unknown",
            replaces: res.getReplacesList(),
            deleteBeforeReplace: res.getDeletebeforereplace(),
        };
    }

    /** Create: returns the new id and outputs (which include `__provider`). */
    async create(urn: string, props: PropertyMap): Promise<{ id: string; outs: PropertyMap }> {
        const req = new provproto.CreateRequest().setUrn(urn).setProperties(toStruct(props));
        const res = await this.call<provproto.CreateRequest, provproto.CreateResponse>("create", req);
        return { id: res.getId(), outs: fromStruct(res.getProperties()) };
    }

    /** Update: `olds` are the last outputs, `news` the checked inputs; returns the new outputs. */
    async update(id: string, urn: string, olds: PropertyMap, news: PropertyMap, oldInputs: PropertyMap): Promise<PropertyMap> {
        const req = new provproto.UpdateRequest()
            .setId(id).setUrn(urn).setOlds(toStruct(olds)).setNews(toStruct(news)).setOldInputs(toStruct(oldInputs));
        const res = await this.call<provproto.UpdateRequest, provproto.UpdateResponse>("update", req);
        return fromStruct(res.getProperties());
    }

    /** Read (refresh): an empty id in the answer means the resource is gone. */
    async read(id: string, urn: string, props: PropertyMap, inputs: PropertyMap): Promise<{ id: string; props: PropertyMap; inputs?: PropertyMap }> {
        const req = new provproto.ReadRequest().setId(id).setUrn(urn).setProperties(toStruct(props)).setInputs(toStruct(inputs));
        const res = await this.call<provproto.ReadRequest, provproto.ReadResponse>("read", req);
        return { id: res.getId(), props: fromStruct(res.getProperties()), inputs: res.hasInputs() ? fromStruct(res.getInputs()) : undefined };
    }

    /** Delete: `props` are the last outputs. */
    async delete(id: string, urn: string, props: PropertyMap, oldInputs: PropertyMap): Promise<void> {
        const req = new provproto.DeleteRequest().setId(id).setUrn(urn).setProperties(toStruct(props)).setOldInputs(toStruct(oldInputs));
        await this.call<provproto.DeleteRequest, Empty>("delete", req);
    }

    /** Closes the client and stops the host's whole process group; resolves once it has exited. */
    async stop(): Promise<void> {
        this.client?.close();
        this.client = undefined;
        if (this.child.exitCode !== null || this.child.signalCode !== null) {
            untrackGroup(this.pid);
            return;
        }
        signalGroup(this.pid, "SIGTERM");
        const killer = setTimeout(() => signalGroup(this.pid, "SIGKILL"), 3000);
        await this.exited;
        clearTimeout(killer);
        untrackGroup(this.pid);
    }
}
