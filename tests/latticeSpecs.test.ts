import { loadConfig } from "../mesh/config";
import { latticeIdleTimeout, listenerProtocol, PROTOCOL_VERSION } from "../mesh/traffic/latticeSpecs";
import { BASE_CONFIG } from "./harness/program";

const configWith = (raw: Record<string, string>) =>
    loadConfig((k) => ({ ...BASE_CONFIG, trafficBackend: "lattice", ...raw })[k]);

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

test("each protocol maps to a Lattice target group protocol version", () => {
    expect(PROTOCOL_VERSION).toEqual({ http: "HTTP1", http2: "HTTP2", grpc: "GRPC" });
});
