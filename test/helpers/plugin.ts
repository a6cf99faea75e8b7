/**
 * The provider plugin in tests: its folder, the SDKs generated from its schema with the pinned
 * release's code generators (`pulumi-sdkgen`, built with the CLI), and the Python SDK installed
 * into the virtual environment the Python host runs programs with.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { pythonEnv, pythonVenvDir, type PulumiCli } from "../../scripts/harness/pulumi-cli";
import { azureNativeConfig, type EmulatorIdentity } from "../../scripts/emulator-identity";
import { repoRoot } from "./paths";

/** The plugin folder: `pulumi-resource-keyvault-backup`, `PulumiPlugin.yaml`, `schema.json`. */
export const pluginDir = path.join(repoRoot, "plugin");

/** What a project's `plugins.providers` needs to run the plugin from this checkout (see `ProjectFile.providers`). */
export const pluginProviders = { "keyvault-backup": pluginDir };

/** The credential config of the plugin for an emulator principal: `azureNativeConfig`'s keys under `keyvault-backup:`. */
export function pluginCredentialConfig(emulator: EmulatorIdentity, principalIndex = 0): Record<string, string> {
    return Object.fromEntries(Object.entries(azureNativeConfig(emulator, principalIndex)).map(([k, v]) => [k.replace(/^azure-native:/, "keyvault-backup:"), v]));
}

function run(command: string, args: string[], what: string): void {
    const r = spawnSync(command, args, { encoding: "utf8", timeout: 300_000 });
    if (r.status !== 0) throw new Error(`${what} failed (${r.status ?? r.signal}): ${r.stderr || r.stdout || r.error?.message}`);
}

/** Generates the plugin's `language` SDK from `plugin/schema.json` into `.cache/sdk/<language>`; returns that folder. */
export function generateSdk(cli: PulumiCli, language: "python" | "go" | "nodejs"): string {
    const out = path.join(repoRoot, ".cache", "sdk", language);
    run(path.join(cli.binDir, "pulumi-sdkgen"), [path.join(pluginDir, "schema.json"), language, out], `pulumi-sdkgen ${language}`);
    return out;
}

let pythonSdkInstalled = false;

/**
 * Why Python programs cannot run here (no virtual environment or no Python host), or undefined
 * when they can.
 */
export function noPythonReason(cli: PulumiCli): string | undefined {
    if (!fs.existsSync(path.join(pythonVenvDir, "bin", "python"))) return `no Python virtual environment at ${pythonVenvDir} (npm run -s pulumi-cli makes it where python3 is)`;
    if (!fs.existsSync(path.join(cli.binDir, "pulumi-language-python"))) return `no pulumi-language-python in ${cli.binDir}`;
    return undefined;
}

/**
 * Generates the Python SDK and installs it into the virtual environment (once per process, from
 * the generated folder, no download: its dependencies are pinned in tools/pulumi/requirements.txt).
 * Returns the environment a Python program needs (`PULUMI_PYTHON_CMD`).
 */
export function installPythonSdk(cli: PulumiCli): Record<string, string> {
    if (!pythonSdkInstalled) {
        const sdk = generateSdk(cli, "python");
        run(path.join(pythonVenvDir, "bin", "python"), ["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps", "--no-build-isolation", "--no-index", "--force-reinstall", sdk], "pip install of the Python SDK");
        pythonSdkInstalled = true;
    }
    return pythonEnv();
}
