import { strict as assert } from "node:assert";
import { generateKeyPairSync } from "node:crypto";
import { CompactEncrypt } from "jose";
import { parseBackupFraming, FramingError, SECRET_BACKUP_TAG } from "../../provider/backup-framing";

/** The tag of a key backup (keyvault-behaviour.md, "The backup blob"). */
const KEY_BACKUP_TAG = "AzureKeyVaultKeyBackupV1.microsoft.com";
import { exampleBackupBytes } from "./example-backup";

/** A blob framed as Key Vault frames one: length byte, tag, JWE text. */
function frame(tag: string, jwe: string): Buffer {
    return Buffer.concat([Buffer.from([tag.length]), Buffer.from(tag, "latin1"), Buffer.from(jwe, "latin1")]);
}

function exampleParts(): string[] {
    return exampleBackupBytes().subarray(1 + SECRET_BACKUP_TAG.length).toString("latin1").split(".");
}

function withParts(edit: (parts: string[]) => string[]): Buffer {
    return frame(SECRET_BACKUP_TAG, edit(exampleParts()).join("."));
}

function header(obj: object): string {
    return Buffer.from(JSON.stringify(obj)).toString("base64url");
}

function rejects(bytes: Uint8Array, pattern: RegExp): void {
    assert.throws(() => parseBackupFraming(bytes), (e: unknown) => {
        assert.ok(e instanceof FramingError, `expected FramingError, got ${String(e)}`);
        assert.match(e.message, pattern);
        return true;
    });
}

describe("backup framing", () => {
    it("accepts the Key Vault 7.4 specification's example backup and reports its header", () => {
        assert.deepEqual(parseBackupFraming(exampleBackupBytes()), {
            alg: "RSA-OAEP",
            enc: "A128CBC-HS256",
            kid: "b576429f-2568-45be-bfaa-37ed07fc0c81",
        });
    });

    it("accepts a freshly made RSA-OAEP-256 / A256CBC-HS512 JWE behind the secret tag", async () => {
        const { publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
        const jwe = await new CompactEncrypt(Buffer.from("versions go here"))
            .setProtectedHeader({ kid: "k1", alg: "RSA-OAEP-256", enc: "A256CBC-HS512" })
            .encrypt(publicKey);
        assert.deepEqual(parseBackupFraming(frame(SECRET_BACKUP_TAG, jwe)), { alg: "RSA-OAEP-256", enc: "A256CBC-HS512", kid: "k1" });
    });

    const damaged: Array<[string, () => Uint8Array, RegExp]> = [
        ["an empty file", () => Buffer.alloc(0), /empty/],
        ["a key backup", () => frame(KEY_BACKUP_TAG, exampleParts().join(".")), /key or certificate backup, not a secret backup \(restore it with Restore Key or Restore Certificate\)/],
        ["another tag", () => frame("AzureKeyVaultSecretBackupV2.microsoft.com", exampleParts().join(".")), /does not start with the secret backup tag/],
        ["a length byte that runs past the end", () => Buffer.from([200, 65, 66]), /does not start with the secret backup tag/],
        ["the base64url text instead of the decoded bytes", () => Buffer.from(exampleBackupBytes().toString("base64url")), /base64url text of a backup.*decode it first/],
        ["four parts", () => withParts((p) => p.slice(0, 4)), /4 dot-separated parts where a JWE has five/],
        ["a trailing newline", () => Buffer.concat([exampleBackupBytes(), Buffer.from("\n")]), /characters outside base64url/],
        ["a header that is not JSON", () => withParts((p) => [Buffer.from("{not json").toString("base64url"), ...p.slice(1)]), /not base64url-encoded JSON/],
        ["a header without enc", () => withParts((p) => [header({ alg: "RSA-OAEP" }), ...p.slice(1)]), /no valid enc/],
        ["a header without alg", () => withParts((p) => [header({ enc: "A128CBC-HS256" }), ...p.slice(1)]), /no valid alg/],
        ["an unknown enc", () => withParts((p) => [header({ alg: "RSA-OAEP", enc: "ROT13" }), ...p.slice(1)]), /ROT13 is not a JWE content encryption/],
        ["no encrypted key", () => withParts((p) => [p[0], "", ...p.slice(2)]), /no encrypted key/],
        ["a short initialisation vector", () => withParts((p) => [p[0], p[1], p[2].slice(0, 16), p[3], p[4]]), /initialisation vector is 12 bytes; A128CBC-HS256 uses 16/],
        ["a truncated end", () => exampleBackupBytes().subarray(0, exampleBackupBytes().length - 8), /authentication tag is 10 bytes.*truncated/],
        ["bytes appended", () => Buffer.concat([exampleBackupBytes(), Buffer.from("AAAA")]), /authentication tag is 19 bytes/],
        ["a ciphertext cut mid-block", () => withParts((p) => [p[0], p[1], p[2], p[3].slice(0, 100), p[4]]), /ciphertext is 75 bytes, not whole 16-byte blocks/],
        ["an impossible base64url length", () => withParts((p) => [p[0], p[1], p[2], p[3] + "A", p[4]]), /length no base64url text can have/],
    ];
    for (const [what, bytes, pattern] of damaged) {
        it(`rejects ${what}`, () => rejects(bytes(), pattern));
    }

    it("never echoes the bytes of a file that is not a backup (it may hold a secret in clear)", () => {
        const plain = Buffer.from("(db-password=hunter2-super-secret-value-1234567890.a.b.c.d");
        assert.throws(() => parseBackupFraming(plain), (e: Error) => {
            assert.doesNotMatch(e.message, /hunter2|super-secret/);
            return true;
        });
    });
});
