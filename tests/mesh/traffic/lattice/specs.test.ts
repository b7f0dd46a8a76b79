import { loadConfig } from "../../../../mesh/config/schema";
import { latticeIdleTimeout, listenerProtocol } from "../../../../mesh/traffic/lattice/specs";
import { BASE_CONFIG } from "../../../harness/stacks";

const configWith = (raw: Record<string, string>) => loadConfig({ ...BASE_CONFIG, trafficBackend: "lattice", ...raw });

test("HTTP/1.1 listens on the model's port; HTTP/2 and gRPC need HTTPS on 443", () => {
    expect(listenerProtocol(configWith({ port: "8000" }))).toEqual({ protocol: "HTTP", port: 8000 });
    expect(listenerProtocol(configWith({ protocol: "http2" }))).toEqual({ protocol: "HTTPS", port: 443 });
    expect(listenerProtocol(configWith({ protocol: "grpc" }))).toEqual({ protocol: "HTTPS", port: 443 });
});

test("the idle timeout stays inside Lattice's 60-600 s", () => {
    expect(latticeIdleTimeout(configWith({ requestTimeoutSeconds: "30" }))).toBe(60);
    expect(latticeIdleTimeout(configWith({ requestTimeoutSeconds: "450" }))).toBe(450);
    expect(latticeIdleTimeout(configWith({ requestTimeoutSeconds: "600" }))).toBe(600);
});
