/** Backups made through the real SDK and folder destination, and damaged as a disk or a person would damage them. */
import * as fs from "node:fs";
import { fileURLToPath } from "node:url";
import type { SecretClient } from "@azure/keyvault-secrets";
import { FileDestination } from "../../provider/destinations/file";
import { sha256Hex } from "../../provider/destinations/destination";

/** Backs up secret `name` with Backup Secret and writes it to `folder` as the provider names it; resolves with its `file://` location. */
export async function backupSecretTo(client: SecretClient, vaultUrl: string, name: string, folder: string, backedUpAt = new Date()): Promise<string> {
    const blob = (await client.backupSecret(name))!;
    return new FileDestination(folder).write(blob, { vaultUrl, secretName: name, backedUpAt: backedUpAt.toISOString(), sha256: sha256Hex(blob), sizeBytes: blob.length });
}

/**
 * Changes one byte inside the JWE ciphertext of the backup at `location` to another base64url
 * character: the framing stays intact (only a hash can tell), as with a bit flip on a disk.
 */
export function flipOneCiphertextByte(location: string): void {
    const file = location.startsWith("file:") ? fileURLToPath(location) : location;
    const bytes = fs.readFileSync(file);
    let dots = 0;
    let at = -1;
    for (let i = 0; i < bytes.length; i++) {
        if (bytes[i] === 0x2e && ++dots === 3) {
            at = i + 8;
            break;
        }
    }
    if (at < 0 || at >= bytes.length) throw new Error(`${file} has no JWE ciphertext to change`);
    bytes[at] = bytes[at] === 0x41 ? 0x42 : 0x41; // 'A' <-> 'B': still base64url, same length
    fs.writeFileSync(file, bytes);
}

/** Escapes `text` for use inside a RegExp. */
export function escapeRegExp(text: string): string {
    return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
