#!/usr/bin/env node
/**
 * `keyvault-emulator`: starts the local Key Vault and prints one JSON ready line on stdout
 * (vaults, caCertPath, authorityHost, tenantId, principals, adminUrl). Ctrl-C / SIGTERM close it.
 * Bad flags print a clear error and exit 2.
 */
import * as fs from "node:fs";
import { parseArgs } from "node:util";
import { startEmulator, type EmulatorOptions } from "./index";
import { checkVaultName } from "./seed";

const USAGE = `Usage: keyvault-emulator [--host 127.0.0.1] [--port 0] [--vault NAME[=HOST[:PORT]]]... [--seed FILE] [--data DIR]
                         [--backup-key KEY] [--ca-cert FILE --ca-key FILE | --tls-cert FILE --tls-key FILE]
                         [--no-throttle] [--latency MS] [--managed-backup refuse|allow] [--certificate-delay MS]

Starts a local Azure Key Vault (secrets, keys and certificates) over HTTPS with an Entra ID stand-in, and
prints one JSON line when ready: {"vaults":{name:url},"caCertPath",...,"principals":[{clientId,clientSecret,...}]}.
Clients must trust caCertPath (for Node: NODE_EXTRA_CA_CERTS=<caCertPath>).

  --host HOST        address to bind (default 127.0.0.1)
  --port PORT        port of the authority (token) and admin server (default 0 = any free port; with
                     --data, the port of the last run)
  --vault NAME       a vault to serve, on its own port (repeatable; default "demo");
                     NAME=HOST[:PORT] names its URL's host (e.g. myvault.vault.azure.net, which you make
                     resolve to --host) and pins its port; it still binds to --host only
  --seed FILE        JSON with vaults, secrets, keys, certificates and principals to start from
  --data DIR         keep state (and the CA) in the folder DIR across restarts
  --backup-key KEY   emulators sharing KEY can restore each other's backups
  --ca-cert FILE     issue the server certificate from this CA (with --ca-key)
  --ca-key FILE
  --tls-cert FILE    use this server certificate (PEM chain covering every vault host) and key as they are
  --tls-key FILE     (caCertPath is then --ca-cert when given, else --tls-cert)
  --no-throttle      turn off Key Vault's request limits (4000 operations, 300 creations per 10 s)
  --latency MS       add MS milliseconds to every vault response
  --managed-backup refuse|allow
                     backup of a certificate's own key or secret: 403 (default, a guess) or allowed
  --certificate-delay MS
                     a self-signed certificate's creation completes MS after the request (default 0)
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
            "tls-cert": { type: "string" },
            "tls-key": { type: "string" },
            "no-throttle": { type: "boolean" },
            latency: { type: "string" },
            "managed-backup": { type: "string" },
            "certificate-delay": { type: "string" },
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
    if (values.vault) {
        options.vaults = [];
        for (const spec of values.vault) {
            const [name, target] = splitOnce(spec, "=");
            try {
                checkVaultName(name);
            } catch (e) {
                throw new Error(`--vault: ${(e as Error).message}`);
            }
            options.vaults.push(name);
            if (target === undefined) continue;
            const m = /^([A-Za-z0-9.-]+)(?::(\d{1,5}))?$/.exec(target);
            if (!m || (m[2] !== undefined && (Number(m[2]) < 1 || Number(m[2]) > 65535))) {
                throw new Error(`--vault ${spec}: expected NAME=HOST or NAME=HOST:PORT (a host name and a port 1-65535)`);
            }
            (options.vaultHosts ??= {})[name] = m[1].toLowerCase();
            if (m[2] !== undefined) (options.vaultPorts ??= {})[name] = Number(m[2]);
        }
    }
    if (values.seed !== undefined) options.seed = values.seed;
    if (values.data !== undefined) {
        let stat: fs.Stats | undefined;
        try {
            stat = fs.statSync(values.data);
        } catch {
            stat = undefined; // made at start
        }
        if (stat && !stat.isDirectory()) throw new Error(`--data must be a folder, and ${values.data} is a file: give a folder (it is made when missing)`);
        options.dataDir = values.data;
    }
    if (values["backup-key"] !== undefined) options.backupKey = values["backup-key"];
    if ((values["ca-cert"] === undefined) !== (values["ca-key"] === undefined) && values["tls-cert"] === undefined) throw new Error("--ca-cert and --ca-key go together");
    if ((values["tls-cert"] === undefined) !== (values["tls-key"] === undefined)) throw new Error("--tls-cert and --tls-key go together");
    if (values["tls-cert"] && values["tls-key"]) {
        if (values["ca-key"]) throw new Error("--ca-key is for issuing a certificate; with --tls-cert give only --ca-cert (what clients trust)");
        options.tls = { certPath: values["tls-cert"], keyPath: values["tls-key"], ...(values["ca-cert"] ? { caCertPath: values["ca-cert"] } : {}) };
    } else if (values["ca-cert"] && values["ca-key"]) options.tls = { caCertPath: values["ca-cert"], caKeyPath: values["ca-key"] };
    if (values["managed-backup"] !== undefined) {
        if (values["managed-backup"] !== "refuse" && values["managed-backup"] !== "allow") throw new Error(`--managed-backup must be "refuse" or "allow", got "${values["managed-backup"]}"`);
        options.managedBackup = values["managed-backup"];
    }
    if (values["certificate-delay"] !== undefined) {
        if (!/^\d+$/.test(values["certificate-delay"])) throw new Error(`--certificate-delay must be a whole number of milliseconds, got "${values["certificate-delay"]}"`);
        options.certificateDelayMs = Number(values["certificate-delay"]);
    }
    if (values["no-throttle"]) options.throttle = false;
    if (values.latency !== undefined) {
        const ms = Number(values.latency);
        if (!/^\d+$/.test(values.latency)) throw new Error(`--latency must be a whole number of milliseconds, got "${values.latency}"`);
        options.latencyMs = ms;
    }
    return options;
}

function splitOnce(s: string, sep: string): [string, string | undefined] {
    const at = s.indexOf(sep);
    return at < 0 ? [s, undefined] : [s.slice(0, at), s.slice(at + 1)];
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
    // The handlers go in before the ready line: a client may signal as soon as it reads that line.
    let stopping: string | undefined;
    let emulator: Awaited<ReturnType<typeof startEmulator>> | undefined;
    const close = (running: NonNullable<typeof emulator>) =>
        running.close().then(
            () => process.exit(0),
            (e: unknown) => {
                process.stderr.write(`keyvault-emulator: closing failed: ${(e as Error).message}\n`);
                process.exit(1);
            },
        );
    const stop = (signal: string) => {
        if (stopping) return;
        stopping = signal;
        process.stderr.write(`keyvault-emulator: ${signal}, closing\n`);
        if (emulator) void close(emulator); // otherwise once started
    };
    process.on("SIGINT", () => stop("SIGINT"));
    process.on("SIGTERM", () => stop("SIGTERM"));
    emulator = await startEmulator(options);
    if (stopping) return void close(emulator);
    const { vaults, caCertPath, authorityHost, tenantId, principals, adminUrl } = emulator;
    process.stdout.write(`${JSON.stringify({ vaults, caCertPath, authorityHost, tenantId, principals, adminUrl })}\n`);
}

if (require.main === module) {
    main().catch((e: unknown) => {
        process.stderr.write(`keyvault-emulator: ${(e as Error).message}\n`);
        process.exit(1);
    });
}
