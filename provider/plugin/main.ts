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

import type { ConfigureRequest } from "./config";

type ConfigureCall = { request: ConfigureRequest };
type Handler = (call: ConfigureCall, callback: (err: unknown, resp?: unknown) => void) => void;

/** Starts the plugin's gRPC server; `args` are the plugin's command-line arguments (the engine's address first). */
export async function serve(args: string[]): Promise<void> {
    // The SDK's own reading of the arguments (what its `main` connects with): flags such as
    // `--tracing <endpoint>` come before the engine's address.
    const { parseArgs } = require("@pulumi/pulumi/provider/internals") as { parseArgs(args: string[]): { engineAddress: string } | undefined };
    const engine = parseArgs(args)?.engineAddress;
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
    const { configureValues } = require("./config") as typeof import("./config");
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

if (require.main === module) {
    serve(process.argv.slice(2)).catch((e) => {
        console.error(e instanceof Error ? e.message : e);
        process.exit(1);
    });
}
