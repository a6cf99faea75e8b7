import { strict as assert } from "node:assert";
import * as https from "node:https";
import * as fs from "node:fs";
import * as path from "node:path";
import { loadOrCreateCa, issueServerCertificate } from "../emulator/tls";
import { testCaDir } from "./helpers/paths";

describe("test CA", () => {
    it("is trusted by this process: a server certificate it issues verifies with TLS checks on", async () => {
        const ca = await loadOrCreateCa(testCaDir);
        assert.equal(process.env.NODE_EXTRA_CA_CERTS, ca.caCertPath);
        const cert = await issueServerCertificate(ca);
        const server = https.createServer({ cert: cert.certPem, key: cert.keyPem }, (_q, s) => s.end("ok"));
        await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
        const port = (server.address() as { port: number }).port;
        try {
            const body = await new Promise<string>((resolve, reject) => {
                https.get(`https://127.0.0.1:${port}/`, (res) => {
                    let b = "";
                    res.on("data", (c) => (b += c));
                    res.on("end", () => resolve(b));
                }).on("error", reject);
            });
            assert.equal(body, "ok");
            assert.equal(fs.statSync(path.join(testCaDir, "ca-key.pem")).mode & 0o777, 0o600);
        } finally {
            server.close();
        }
    });
});
