/**
 * The runner's request signing (`mesh/evaluation/handler.js`), for a Lattice service with IAM
 * auth: the same signature the AWS SDK's own Signature Version 4 signer makes for the request,
 * with the unsigned payload Lattice requires.
 */
import { SignatureV4 } from "@smithy/signature-v4";
import { Sha256 } from "@aws-crypto/sha256-js";

const { signatureHeaders } = require("../../../mesh/evaluation/handler.js") as {
    signatureHeaders: (request: object) => Record<string, string>;
};

const CREDENTIALS = { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", sessionToken: "session/token+1=" };
const HOST = "inference-0a1b2c3d4e5f6a7b8.7d67968.vpc-lattice-svcs.us-west-2.on.aws";

test.each([
    ["http", 8080, "/v1/chat/completions"],
    ["https", 443, "/v1/embed"],
])("a %s request on port %d to %s is signed as the SDK signs it, with an unsigned payload and the session token", async (scheme, port, path) => {
    const now = new Date("2026-12-07T06:36:00Z");
    const host = port === 443 ? HOST : `${HOST}:${port}`;
    const mine = signatureHeaders({
        method: "POST",
        url: `${scheme}://${host}${path}`,
        service: "vpc-lattice-svcs",
        region: "us-west-2",
        credentials: CREDENTIALS,
        now,
    });
    const sdk = await new SignatureV4({
        service: "vpc-lattice-svcs",
        region: "us-west-2",
        credentials: CREDENTIALS,
        sha256: Sha256,
        applyChecksum: false,
    }).sign(
        {
            method: "POST",
            protocol: `${scheme}:`,
            hostname: HOST,
            port,
            path,
            query: {},
            headers: { host, "x-amz-content-sha256": "UNSIGNED-PAYLOAD" },
            body: "{}",
        },
        { signingDate: now },
    );
    expect(mine["x-amz-content-sha256"]).toBe("UNSIGNED-PAYLOAD");
    expect(mine["x-amz-security-token"]).toBe(CREDENTIALS.sessionToken);
    expect(mine.authorization).toBe(sdk.headers.authorization);
    expect(mine.authorization).toMatch(
        /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/20261207\/us-west-2\/vpc-lattice-svcs\/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token, Signature=[0-9a-f]{64}$/,
    );
});
