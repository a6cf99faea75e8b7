/**
 * A tiny user program, run by the bench as a child process inside a scratch project where the
 * packed package is installed: it declares one `SecretBackup` with the project's own
 * `@pulumi/pulumi` under mocks and prints the registered inputs (with `__provider`) as JSON.
 * Usage (cwd = the project): node user-program.js <vaultUrl> <secretName> <destination>
 */
import type * as Pulumi from "@pulumi/pulumi";

type PackageApi = { SecretBackup: new (name: string, args: Record<string, unknown>) => unknown };

async function main(): Promise<void> {
    const [vaultUrl, secretName, destination] = process.argv.slice(2);
    // Both modules come from the project's node_modules, as in a user's program.
    const fromProject = (id: string): string => require.resolve(id, { paths: [process.cwd()] });
    const pulumi = require(fromProject("@pulumi/pulumi")) as typeof Pulumi;
    const pkg = require(fromProject("pulumi-keyvault-backup")) as PackageApi;
    let registered: { type: string; name: string; inputs: Record<string, unknown> } | undefined;
    await pulumi.runtime.setMocks(
        {
            newResource: async (args) => {
                if (args.type.startsWith("pulumi-nodejs:dynamic/")) registered = { type: args.type, name: args.name, inputs: args.inputs };
                return { id: `${args.name}-id`, state: args.inputs };
            },
            call: () => ({}),
        },
        "bench-user-project",
        "dev",
        false,
    );
    await pulumi.runtime.runInPulumiStack(async () => {
        new pkg.SecretBackup(secretName, { vaultUrl, secretName, destination });
    });
    await (pulumi.runtime as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs();
    if (!registered) throw new Error("the program registered no SecretBackup");
    process.stdout.write(JSON.stringify(registered) + "\n");
}

main().catch((e: Error) => {
    process.stderr.write(`user program failed: ${e.stack ?? e.message}\n`);
    process.exit(1);
});
