#!/usr/bin/env node
/**
 * `keyvault-emulator`: starts the local Key Vault and prints one JSON ready line on stdout
 * (vaults, caCertPath, authorityHost, tenantId, principals, adminUrl). Ctrl-C / SIGTERM close it.
 * Bad flags print a clear error and exit 2.
 */
import { parseArgs } from "node:util";
import { startEmulator, type EmulatorOptions } from "./index";

const USAGE = `Usage: keyvault-emulator [--host 127.0.0.1] [--port 0] [--vault NAME]... [--seed FILE] [--data DIR]
                         [--backup-key KEY] [--ca-cert FILE --ca-key FILE] [--no-throttle] [--latency MS]

Starts a local Azure Key Vault (secrets API) over HTTPS with an Entra ID stand-in, and prints one JSON
line when ready: {"vaults":{name:url},"caCertPath",...,"principals":[{clientId,clientSecret,...}]}.
Clients must trust caCertPath (for Node: NODE_EXTRA_CA_CERTS=<caCertPath>).

  --host HOST        address to bind (default 127.0.0.1)
  --port PORT        port of the authority (token) and admin server (default 0 = any free port)
  --vault NAME       a vault to serve, on its own port (repeatable; default "demo")
  --seed FILE        JSON with vaults, secrets and principals to start from
  --data DIR         keep state (and the CA) in DIR across restarts
  --backup-key KEY   emulators sharing KEY can restore each other's backups
  --ca-cert FILE     issue the server certificate from this CA (with --ca-key)
  --ca-key FILE
  --no-throttle      turn off Key Vault's request limits (4000 operations, 300 creations per 10 s)
  --latency MS       add MS milliseconds to every vault response
  --help             this text`;

/** Turns command-line arguments into emulator options; throws an Error naming the bad flag. */
export function parseCli(argv: string[]): EmulatorOptions | "help" {
    const { values, positionals } = parseArgs({
        args: argv,
        strict: true,
        allowPositionals: true,
        options: {
            host: { type: "string" },
            port: { type: "string" },
            vault: { type: "string", multiple: true },
            seed: { type: "string" },
            data: { type: "string" },
            "backup-key": { type: "string" },
            "ca-cert": { type: "string" },
            "ca-key": { type: "string" },
            "no-throttle": { type: "boolean" },
            latency: { type: "string" },
            help: { type: "boolean", short: "h" },
        },
    });
    if (values.help) return "help";
    if (positionals.length) throw new Error(`unexpected argument "${positionals[0]}"`);
    const options: EmulatorOptions = {};
    if (values.host !== undefined) options.host = values.host;
    if (values.port !== undefined) {
        const port = Number(values.port);
        if (!/^\d+$/.test(values.port) || port > 65535) throw new Error(`--port must be a number 0-65535, got "${values.port}"`);
        options.port = port;
    }
    if (values.vault) options.vaults = values.vault;
    if (values.seed !== undefined) options.seed = values.seed;
    if (values.data !== undefined) options.dataDir = values.data;
    if (values["backup-key"] !== undefined) options.backupKey = values["backup-key"];
    if ((values["ca-cert"] === undefined) !== (values["ca-key"] === undefined)) throw new Error("--ca-cert and --ca-key go together");
    if (values["ca-cert"] && values["ca-key"]) options.tls = { caCertPath: values["ca-cert"], caKeyPath: values["ca-key"] };
    if (values["no-throttle"]) options.throttle = false;
    if (values.latency !== undefined) {
        const ms = Number(values.latency);
        if (!/^\d+$/.test(values.latency)) throw new Error(`--latency must be a whole number of milliseconds, got "${values.latency}"`);
        options.latencyMs = ms;
    }
    return options;
}

async function main(): Promise<void> {
    let options: EmulatorOptions | "help";
    try {
        options = parseCli(process.argv.slice(2));
    } catch (e) {
        process.stderr.write(`keyvault-emulator: ${(e as Error).message}\n\n${USAGE}\n`);
        process.exit(2);
    }
    if (options === "help") {
        process.stdout.write(`${USAGE}\n`);
        return;
    }
    const emulator = await startEmulator(options);
    const { vaults, caCertPath, authorityHost, tenantId, principals, adminUrl } = emulator;
    process.stdout.write(`${JSON.stringify({ vaults, caCertPath, authorityHost, tenantId, principals, adminUrl })}\n`);
    let stopping = false;
    const stop = (signal: string) => {
        if (stopping) return;
        stopping = true;
        process.stderr.write(`keyvault-emulator: ${signal}, closing\n`);
        emulator.close().then(
            () => process.exit(0),
            (e: unknown) => {
                process.stderr.write(`keyvault-emulator: closing failed: ${(e as Error).message}\n`);
                process.exit(1);
            },
        );
    };
    process.on("SIGINT", () => stop("SIGINT"));
    process.on("SIGTERM", () => stop("SIGTERM"));
}

if (require.main === module) {
    main().catch((e: unknown) => {
        process.stderr.write(`keyvault-emulator: ${(e as Error).message}\n`);
        process.exit(1);
    });
}
