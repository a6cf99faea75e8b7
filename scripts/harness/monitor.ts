/**
 * The engine's side of the gRPC conversation with a program: a `pulumirpc.ResourceMonitor` and a
 * `pulumirpc.Engine` server, built on the stubs `@pulumi/pulumi/proto` ships. The program runner
 * (`runner.ts`) points the SDK at them through `PULUMI_NODEJS_MONITOR` and `PULUMI_NODEJS_ENGINE`;
 * every registration is handed to `register` (LocalEngine's step logic) and its answer goes back to
 * the SDK, which resolves the resource's outputs from it.
 */
import * as grpc from "@grpc/grpc-js";
import * as resproto from "@pulumi/pulumi/proto/resource_pb";
import * as engproto from "@pulumi/pulumi/proto/engine_pb";
import { ResourceMonitorService } from "@pulumi/pulumi/proto/resource_grpc_pb";
import { EngineService } from "@pulumi/pulumi/proto/engine_grpc_pb";
import { Empty } from "google-protobuf/google/protobuf/empty_pb";
import type { Registration, RegistrationResult } from "./program";
import { PropertyMap, fromStruct, toStruct } from "./wire";

/** One registration as the engine receives it over gRPC: the program's view plus the links it declared. */
export interface EngineRegistration extends Registration {
    /** The parent's URN ("" only for the root stack). */
    parent: string;
    /** URNs of every resource this one depends on (explicit `dependsOn` and those its inputs came from). */
    dependencies: string[];
    /** Per input property, the URNs its value came from. */
    propertyDependencies: Record<string, string[]>;
    /** URNs this resource was known by before (`aliases`), as the SDK computed them. */
    aliases: string[];
    /** Where the program declared it, `<file URL>#<line>,<column>` ("" when the SDK sent no position). */
    sourcePosition: string;
}

/** A diagnostic the program sent (`pulumi.log.*`, or the language host's report of a failure). */
export interface Diagnostic {
    severity: "debug" | "info" | "warning" | "error";
    /** The resource it is about ("" for the stack as a whole). */
    urn: string;
    message: string;
}

/** A registration refused with this error reaches the program as a failed RegisterResource with `code`. */
export class MonitorRefusal extends Error {
    constructor(message: string, readonly code: grpc.status) {
        super(message);
    }
}

/** How the servers answer. */
export interface MonitorHandlers {
    project: string;
    stack: string;
    /** Runs the steps for one registration and returns what the engine tells the program. */
    register(reg: EngineRegistration): Promise<RegistrationResult>;
    /** `registerOutputs` of a component (the root stack's are the stack's exports). */
    registerOutputs?(urn: string, outputs: PropertyMap): void;
    /** Every `Log` call, in arrival order. */
    log?(d: Diagnostic): void;
}

/**
 * The features this monitor supports, answered honestly to `SupportsFeature`: secrets (markers kept
 * on inputs and put back on outputs). Resource references and output values are off, so the SDK
 * sends plain values with URN strings and the unknown sentinel; aliases arrive as URNs the SDK
 * computed; transforms, hooks, packages, `deletedWith`/`replaceWith` are not implemented.
 */
export const SUPPORTED_FEATURES: ReadonlySet<string> = new Set(["secrets"]);

const SEVERITIES: Record<number, Diagnostic["severity"]> = {
    [engproto.LogSeverity.DEBUG]: "debug",
    [engproto.LogSeverity.INFO]: "info",
    [engproto.LogSeverity.WARNING]: "warning",
    [engproto.LogSeverity.ERROR]: "error",
};

const STACK_TYPE = "pulumi:pulumi:Stack";

/** The URN the engine gives a resource: the parent's type chain, except the root stack's. */
export function resourceUrn(stack: string, project: string, parent: string, type: string, name: string): string {
    let qualified = type;
    if (parent) {
        const parentType = parent.split("::")[2] ?? "";
        if (parentType && parentType !== STACK_TYPE) qualified = `${parentType}$${type}`;
    }
    return `urn:pulumi:${stack}::${project}::${qualified}::${name}`;
}

type Callback<T> = (err: grpc.ServiceError | null, res?: T) => void;

function refusal(message: string, code: grpc.status): grpc.ServiceError {
    return Object.assign(new Error(message), { code, details: message, metadata: new grpc.Metadata() }) as grpc.ServiceError;
}

function toServiceError(e: unknown): grpc.ServiceError {
    if (e instanceof MonitorRefusal) return refusal(e.message, e.code);
    return refusal(e instanceof Error ? e.message : String(e), grpc.status.UNKNOWN);
}

/** A running ResourceMonitor + Engine pair on loopback ports. */
export class MonitorServer {
    private rootUrn = "";

    private constructor(
        private readonly server: grpc.Server,
        /** `host:port` of the ResourceMonitor (`PULUMI_NODEJS_MONITOR`). */
        readonly monitorAddress: string,
        /** `host:port` of the Engine (`PULUMI_NODEJS_ENGINE`); the same server. */
        readonly engineAddress: string,
    ) {}

    /** Starts both services on one loopback port. */
    static async start(handlers: MonitorHandlers): Promise<MonitorServer> {
        const server = new grpc.Server({ "grpc.max_receive_message_length": 400 * 1024 * 1024 });
        let self: MonitorServer | undefined;
        server.addService(ResourceMonitorService, {
            supportsFeature(call: { request: resproto.SupportsFeatureRequest }, cb: Callback<resproto.SupportsFeatureResponse>) {
                cb(null, new resproto.SupportsFeatureResponse().setHassupport(SUPPORTED_FEATURES.has(call.request.getId())));
            },
            registerResource(call: { request: resproto.RegisterResourceRequest }, cb: Callback<resproto.RegisterResourceResponse>) {
                const req = call.request;
                const propertyDependencies: Record<string, string[]> = {};
                req.getPropertydependenciesMap().forEach((v, k) => (propertyDependencies[k] = v.getUrnsList()));
                const reg: EngineRegistration = {
                    type: req.getType(),
                    name: req.getName(),
                    urn: resourceUrn(handlers.stack, handlers.project, req.getParent(), req.getType(), req.getName()),
                    custom: req.getCustom(),
                    parent: req.getParent(),
                    dependencies: req.getDependenciesList(),
                    propertyDependencies,
                    aliases: req.getAliasurnsList(),
                    sourcePosition: positionOf(req.getSourceposition()),
                    inputs: fromStruct(req.getObject()),
                };
                handlers.register(reg).then(
                    (result) => cb(null, new resproto.RegisterResourceResponse()
                        .setUrn(reg.urn).setId(result.id).setObject(toStruct(result.state))),
                    (e) => cb(toServiceError(e)),
                );
            },
            registerResourceOutputs(call: { request: resproto.RegisterResourceOutputsRequest }, cb: Callback<Empty>) {
                handlers.registerOutputs?.(call.request.getUrn(), fromStruct(call.request.getOutputs()));
                cb(null, new Empty());
            },
            readResource(call: { request: resproto.ReadResourceRequest }, cb: Callback<never>) {
                cb(refusal(`ReadResource (${call.request.getType()} ${call.request.getName()}) is not supported by this harness`, grpc.status.UNIMPLEMENTED));
            },
            invoke(call: { request: resproto.ResourceInvokeRequest }, cb: Callback<never>) {
                cb(refusal(`invoke ${call.request.getTok()} is not supported by this harness`, grpc.status.UNIMPLEMENTED));
            },
            call(call: { request: resproto.ResourceCallRequest }, cb: Callback<never>) {
                cb(refusal(`call ${call.request.getTok()} is not supported by this harness`, grpc.status.UNIMPLEMENTED));
            },
            signalAndWaitForShutdown(_call: unknown, cb: Callback<Empty>) {
                cb(null, new Empty());
            },
        });
        server.addService(EngineService, {
            log(call: { request: engproto.LogRequest }, cb: Callback<Empty>) {
                const r = call.request;
                handlers.log?.({ severity: SEVERITIES[r.getSeverity()] ?? "info", urn: r.getUrn(), message: r.getMessage() });
                cb(null, new Empty());
            },
            getRootResource(_call: unknown, cb: Callback<engproto.GetRootResourceResponse>) {
                cb(null, new engproto.GetRootResourceResponse().setUrn(self?.rootUrn ?? ""));
            },
            setRootResource(call: { request: engproto.SetRootResourceRequest }, cb: Callback<engproto.SetRootResourceResponse>) {
                if (self) self.rootUrn = call.request.getUrn();
                cb(null, new engproto.SetRootResourceResponse());
            },
            requirePulumiVersion(_call: unknown, cb: Callback<Empty>) {
                cb(null, new Empty());
            },
        });
        const port = await new Promise<number>((resolve, reject) =>
            server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
        );
        const address = `127.0.0.1:${port}`;
        self = new MonitorServer(server, address, address);
        return self;
    }

    /** The root stack's URN, as the program set it (SetRootResource). */
    get root(): string {
        return this.rootUrn;
    }

    /** Stops accepting calls and ends those in flight; bounded (forced after `graceMs`). */
    async stop(graceMs = 2000): Promise<void> {
        await new Promise<void>((resolve) => {
            const timer = setTimeout(() => {
                this.server.forceShutdown();
                resolve();
            }, graceMs);
            this.server.tryShutdown(() => {
                clearTimeout(timer);
                resolve();
            });
        });
    }
}

function positionOf(p: { getUri(): string; getLine(): number; getColumn(): number } | undefined): string {
    return p && p.getUri() ? `${p.getUri()}#${p.getLine()},${p.getColumn()}` : "";
}
