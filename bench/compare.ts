/**
 * Today's way against the provider, on the same 50 secrets with the same 20 ms per call: a shell
 * loop starting one `node` process per secret (`one-secret.ts`), and one provider host creating
 * 50 `SecretBackup`s one at a time, timed from spawning the host (as one `pulumi up --parallel 1`).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { spawn } from "node:child_process";
import type { RunningEmulator } from "../emulator";
import { backupJobs, createAll, startHost } from "./drive";
import { freshFolder, secretNames } from "./setup";
import { BULK_LATENCY_MS } from "./bulk";
import { round } from "./stats";
import type { ProviderHost } from "../scripts/harness/host";

/** Secrets in the comparison. */
export const COMPARE_SECRETS = 50;

/** The comparison's figures. */
export interface CompareResult {
    secrets: number;
    shellLoop: { totalMs: number; perSecretMs: number; files: number };
    providerSequential: { totalMs: number; perSecretMs: number; failures: string[] };
}

/** Runs both on vault `compare`. */
export async function measureComparison(emulator: RunningEmulator): Promise<CompareResult> {
    emulator.faults.setLatency(BULK_LATENCY_MS);
    const names = secretNames(0, COMPARE_SECRETS);
    const shellLoop = await shellLoopBackups(emulator, names);
    const folder = freshFolder("compare-provider");
    const jobs = await backupJobs(emulator.vaults.compare, names, folder, "compare");
    const start = performance.now();
    let host: ProviderHost | undefined;
    let batch;
    try {
        host = await startHost(emulator);
        batch = await createAll(host, jobs, 1);
    } finally {
        await host?.stop();
    }
    const totalMs = performance.now() - start;
    return {
        secrets: names.length,
        shellLoop,
        providerSequential: { totalMs: round(totalMs, 0), perSecretMs: round(totalMs / names.length, 1), failures: batch.failures },
    };
}

/** `while read name; do node one-secret.js ...; done`, timed as a whole; fails if any backup fails. */
async function shellLoopBackups(emulator: RunningEmulator, names: string[]): Promise<CompareResult["shellLoop"]> {
    const folder = freshFolder("compare-shell");
    const list = path.join(folder, "names.txt");
    fs.writeFileSync(list, names.join("\n") + "\n");
    const p = emulator.principals[0];
    const script = 'while read -r name; do node "$BACKUP_SCRIPT" "$VAULT_URL" "$name" "$OUT/$name.kvbackup" || exit 1; done < "$NAMES"';
    const env = {
        ...process.env,
        BACKUP_SCRIPT: path.join(__dirname, "one-secret.js"),
        VAULT_URL: emulator.vaults.compare,
        OUT: folder,
        NAMES: list,
        AZURE_TENANT_ID: emulator.tenantId,
        AZURE_CLIENT_ID: p.clientId,
        AZURE_CLIENT_SECRET: p.clientSecret,
        AZURE_AUTHORITY_HOST: emulator.authorityHost,
        NODE_EXTRA_CA_CERTS: emulator.caCertPath,
    };
    const start = performance.now();
    await new Promise<void>((resolve, reject) => {
        const child = spawn("sh", ["-c", script], { env, stdio: ["ignore", "ignore", "pipe"] });
        let stderr = "";
        child.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c));
        child.once("error", reject);
        child.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`the shell loop failed (exit ${code}): ${stderr.trim()}`))));
    });
    const totalMs = performance.now() - start;
    const files = fs.readdirSync(folder).filter((f) => f.endsWith(".kvbackup")).length;
    if (files !== names.length) throw new Error(`the shell loop wrote ${files} backups, expected ${names.length}`);
    return { totalMs: round(totalMs, 0), perSecretMs: round(totalMs / names.length, 1), files };
}
