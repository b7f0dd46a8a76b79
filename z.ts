import { loadConfig } from "./mesh/config/schema";
import { stackConfig } from "./tests/harness/stacks";
const tryit = (raw: any) => { try { console.log(JSON.stringify(loadConfig(raw)).slice(0, 300)); } catch (e) { console.log((e as Error).message); } };
for (const s of ["dev", "prod", "lattice"]) tryit(stackConfig(s));
tryit({ canaryWeight: "150", protocol: "tcp", port: "22", rolout: "{}", stable: JSON.stringify({ image: "a/b:1", cpu: 3000 }), canary: "{}" , helthCheck: "x", maxRetries: "3"});
tryit({ canaryWeight: "1", trafficBackend: "istio", port: "x", stable: "{}" });
tryit({ canaryWeight: "1", stable: '{"image":"a:1"}', canary: '{"image":"a:2", "discoveryName": "x"}', rollout: JSON.stringify({ steps: [50, 10, 100], bakeSecond: 5 }) });
tryit({ canaryWeight: "1", trafficBackend: "lattice", appmesh: "{}", stable: '{"image":"a:1"}', canary: '{"image":"a:2"}', requestTimeoutSeconds: "900", lattice: '{"authType":"AWS_IAM"}' });
