import { strict as assert } from "node:assert";
import { randomUUID } from "node:crypto";
import sinon from "sinon";
import * as pulumi from "@pulumi/pulumi";
import { ContainerClient } from "@azure/storage-blob";
import * as ops from "../../provider/operations";
import type { RunningEmulator } from "../../emulator";
import { azureNativeConfig, credentialFor, pointAuthorityHostAt, secretClientFor, startTestEmulator, uniqueName } from "../helpers/emulator";
import { startAzurite, type RunningAzurite } from "../helpers/azurite";
import { freePort as closedPort } from "../helpers/ports";

// Refresh (`read`) of a SecretBackup whose destination is Blob Storage (Azurite, HTTPS + OAuth):
// the blob is read with the provider's credential, and only Storage's 404 counts as "missing";
// a refusal (403), an unreachable account or a credential that gets no token fails the refresh,
// so it never reports drift it cannot see (and never makes the next up re-take a good backup).
const VAULT = "blobrefresh";

describe("SecretBackup refresh with a Blob Storage destination (Azurite)", function () {
    this.timeout(90_000);
    let azurite: RunningAzurite;
    let emulator: RunningEmulator;
    let container: ContainerClient;
    let restoreAuthorityHost = (): void => undefined;
    let warnings: string[];

    function configure(extra: Record<string, string> = {}): void {
        const values = azureNativeConfig(emulator, 0, extra);
        ops.configure({ get: (k) => values[k] });
    }

    /** A secret backed up by `create` to the container; returns the resource's id and state. */
    async function backedUp(): Promise<{ id: string; outs: Record<string, unknown> }> {
        const name = uniqueName("blobref");
        await secretClientFor(emulator, VAULT).setSecret(name, `value-${randomUUID()}`);
        return ops.create({ vaultUrl: emulator.vaults[VAULT], secretName: name, destination: `${container.url}/refresh` });
    }

    before(async () => {
        [azurite, emulator] = await Promise.all([startAzurite(), startTestEmulator({ vaults: [VAULT] })]);
        restoreAuthorityHost = pointAuthorityHostAt(emulator);
        container = new ContainerClient(`${azurite.accountUrl}/${uniqueName("refresh")}`, credentialFor(emulator));
        await container.create();
    });
    after(async () => {
        restoreAuthorityHost();
        await Promise.all([azurite?.stop(), emulator?.close()]);
    });
    beforeEach(() => {
        configure();
        warnings = [];
        sinon.stub(pulumi.log, "info").resolves();
        sinon.stub(pulumi.log, "warn").callsFake(async (msg: string) => void warnings.push(msg));
    });
    afterEach(() => sinon.restore());

    it("reads the blob with the configured credential: an intact blob keeps the state, a deleted one clears sha256", async () => {
        const { id, outs } = await backedUp();
        assert.match(String(outs.location), new RegExp(`^${container.url}/refresh`));
        assert.deepEqual(await ops.read(id, outs), { id, props: outs });
        assert.deepEqual(warnings, []);
        await container.getBlockBlobClient(String(outs.location).slice(container.url.length + 1)).delete();
        const missing = await ops.read(id, outs);
        assert.equal(missing.props.sha256, "");
        assert.deepEqual(warnings, [`backup of secret "${String(outs.secretName)}" at ${String(outs.location)} is missing; the next update takes a fresh backup`]);
    });

    it("a credential that gets no token fails the refresh (not 'missing'), without echoing the secret", async () => {
        const { id, outs } = await backedUp();
        const wrong = `wrong-${randomUUID()}`;
        configure({ "azure-native:clientSecret": wrong });
        await assert.rejects(ops.read(id, outs), (e: Error) => {
            assert.match(e.message, /^Blob Storage verify failed for account "devstoreaccount1", container "refresh-/);
            assert.match(e.message, /Could not get a token for Azure Storage/);
            assert.ok(!e.message.includes(wrong));
            return true;
        });
        assert.deepEqual(warnings, [], "no drift reported");
    });

    it("an account that cannot be reached fails the refresh (not 'missing')", async () => {
        const { id, outs } = await backedUp();
        const port = await closedPort();
        const moved = (url: unknown) => String(url).replace(`:${azurite.port}/`, `:${port}/`);
        const props = { ...outs, location: moved(outs.location), destination: moved(outs.destination) };
        await assert.rejects(ops.read(id, props), /Blob Storage verify failed for account "devstoreaccount1".*ECONNREFUSED/s);
        assert.deepEqual(warnings, []);
    });

    it("Storage answering 403 (an Azurite whose clock runs a day ahead refuses every token) fails the refresh (not 'missing')", async () => {
        const { id, outs } = await backedUp();
        const skewed = await startAzurite({ clockSkewMs: 24 * 3600_000 });
        try {
            const moved = (url: unknown) => String(url).replace(`:${azurite.port}/`, `:${skewed.port}/`);
            const props = { ...outs, location: moved(outs.location), destination: moved(outs.destination) };
            await assert.rejects(ops.read(id, props), /Blob Storage verify failed for account "devstoreaccount1".*403 AuthenticationFailed.*request id/s);
            assert.deepEqual(warnings, []);
        } finally {
            await skewed.stop();
        }
    });
});
