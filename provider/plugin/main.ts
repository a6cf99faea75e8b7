#!/usr/bin/env node
/**
 * The provider plugin's entry point (`pulumi-resource-keyvault-backup` runs it): serves
 * `KeyVaultBackupProvider` over gRPC with `@pulumi/pulumi/provider`'s `main`, which prints the port
 * the engine connects to.
 *
 * Two things that server does not do for a provider, done here:
 * - Configure: the server answers it without passing the configuration on (as of 3.248). The
 *   plugin needs its `keyvault-backup:*` config (the credential, the pacing), so the service's
 *   `configure` handler is wrapped to hand the request's variables to the provider first.
 * - Logging: `pulumi.log` reaches the engine only when the engine's address is known to the SDK;
 *   it is the plugin's first argument, and is set where the SDK reads it before anything logs.
 */
import type { KeyVaultBackupProvider as ProviderClass } from "./provider";

type ConfigureRequest = { getVariablesMap(): { entries(): Iterable<[string, string]> }; getArgs(): { toJavaScript(): Record<string, unknown> } | undefined };
type ConfigureCall = { request: ConfigureRequest };
type Handler = (call: ConfigureCall, callback: (err: unknown, resp?: unknown) => void) => void;

/** Starts the plugin's gRPC server; `args` are the plugin's command-line arguments (the engine's address first). */
export async function serve(args: string[]): Promise<void> {
    const engine = args.find((a) => !a.startsWith("-") && /:\d+$/.test(a));
    if (engine && !process.env.PULUMI_NODEJS_ENGINE) process.env.PULUMI_NODEJS_ENGINE = engine;
    // Loaded after the engine address is set: the SDK reads it when its settings are first made.
    const { KeyVaultBackupProvider } = require("./provider") as { KeyVaultBackupProvider: typeof ProviderClass };
    const pulumiProvider = require("@pulumi/pulumi/provider") as typeof import("@pulumi/pulumi/provider");
    const provider = new KeyVaultBackupProvider();
    passConfigureOn(provider);
    await pulumiProvider.main(provider, args);
}

/**
 * Wraps the `configure` handler of the provider service `@pulumi/pulumi/provider` registers, so
 * that `provider.configure` gets the request's variables before the SDK's own answer. Resolves
 * grpc-js from `@pulumi/pulumi`'s own folder: it must be the instance its server uses.
 */
function passConfigureOn(provider: ProviderClass): void {
    const grpcPath = require.resolve("@grpc/grpc-js", { paths: [require.resolve("@pulumi/pulumi/provider")] });
    const grpc = require(grpcPath) as { Server: { prototype: { addService(service: unknown, impl: Record<string, unknown>): void } } };
    const original = grpc.Server.prototype.addService;
    grpc.Server.prototype.addService = function (this: unknown, service: unknown, impl: Record<string, unknown>) {
        const configure = impl.configure as Handler | undefined;
        if (typeof configure === "function") {
            impl.configure = ((call, callback) => {
                try {
                    provider.configure(configureValues(call.request));
                } catch (e) {
                    callback(e);
                    return;
                }
                configure.call(impl, call, callback);
            }) as Handler;
        }
        return original.call(this, service, impl);
    };
}

/**
 * The configuration a Configure request carries, by bare key (`clientId`): its `args` (the
 * provider's inputs, secrets wrapped), else its older `variables` map (`keyvault-backup:config:clientId`).
 */
export function configureValues(request: ConfigureRequest): Record<string, string> {
    const args = request.getArgs()?.toJavaScript();
    const out: Record<string, string> = {};
    if (args) {
        for (const [k, v] of Object.entries(args)) {
            const value = v && typeof v === "object" && "value" in v ? (v as { value: unknown }).value : v;
            if (k !== "version" && value !== undefined && value !== null) out[k] = typeof value === "string" ? value : JSON.stringify(value);
        }
        return out;
    }
    for (const [k, v] of request.getVariablesMap().entries()) out[k.slice(k.lastIndexOf(":") + 1)] = v;
    return out;
}

if (require.main === module) {
    serve(process.argv.slice(2)).catch((e) => {
        console.error(e instanceof Error ? e.message : e);
        process.exit(1);
    });
}
