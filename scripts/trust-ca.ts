/** Making a script trust a local CA the only way Node allows: from the start of the process. */
import { spawnSync } from "node:child_process";

/**
 * Returns at once when this process already trusts `caCertPath` through `NODE_EXTRA_CA_CERTS`.
 * Otherwise runs this same script again (same arguments, stdio inherited) with it set, since Node
 * reads that variable only at start-up, and exits with the child's status: it does not return then.
 * With `timeoutMs`, a child still running then is killed (a hang that no timer inside it can end,
 * such as a deadlock in native code) and `onTimeout` runs before this process exits with 1.
 * TLS verification stays on throughout.
 */
export function rerunTrustingCa(caCertPath: string, options: { timeoutMs?: number; onTimeout?: () => void } = {}): void {
    if (process.env.NODE_EXTRA_CA_CERTS === caCertPath) return;
    const child = spawnSync(process.execPath, process.argv.slice(1), {
        stdio: "inherit",
        env: { ...process.env, NODE_EXTRA_CA_CERTS: caCertPath },
        ...(options.timeoutMs ? { timeout: options.timeoutMs, killSignal: "SIGKILL" as const } : {}),
    });
    if (options.timeoutMs && (child.error as NodeJS.ErrnoException | undefined)?.code === "ETIMEDOUT") {
        options.onTimeout?.();
        process.exit(1);
    }
    process.exit(child.status ?? 1);
}
