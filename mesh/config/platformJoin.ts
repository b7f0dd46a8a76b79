/**
 * Whether a service can join its platform: the rules between a service's config and what
 * the platform declares (the ports its service network admits, its GPU pools). The program
 * checks them against the platform's outputs before declaring anything; `rollout check`
 * against the platform's stack file.
 */
import { ConfigProblem } from "./errors";
import { CanaryConfig } from "./schema";
import { Version, VERSIONS } from "../../contract/versions";
import { instancesForDeployment } from "../compute/gpuInstances";
import { PlatformOutputs } from "../../contract/outputs";
import { listenerProtocol } from "../traffic/lattice/specs";

/** What a service needs to know of its platform to join it: the ports its service network admits, and its GPU pools. */
type Joined = Pick<PlatformOutputs, "latticePorts" | "gpuPools">;

/** What keeps this service from joining the platform, as config problems. */
export function joinProblems(config: CanaryConfig, platform: Joined): ConfigProblem[] {
    return [...portProblems(config, platform), ...VERSIONS.flatMap((version) => poolProblems(config, version, platform))];
}

function portProblems(config: CanaryConfig, platform: Joined): ConfigProblem[] {
    if (config.trafficBackend !== "lattice") return [];
    const { port } = listenerProtocol(config);
    return platform.latticePorts.includes(port)
        ? []
        : [
              {
                  key: "protocol",
                  got: config.protocol,
                  expected: `a protocol whose Lattice listener port the platform's service network admits (${platform.latticePorts.join(", ")}; ${config.protocol} listens on ${port}), or add ${port} to the platform's latticePorts`,
              },
          ];
}

/** A GPU version runs on the platform's pool of its instance type: there must be one, with the version's volume, big enough for one deployment of it alone. */
function poolProblems(config: CanaryConfig, version: Version, platform: Joined): ConfigProblem[] {
    const v = config.versions[version];
    if (v.compute !== "gpu" || !v.gpu) return [];
    const pools = Object.keys(platform.gpuPools);
    const pool = platform.gpuPools[v.gpu.instanceType];
    if (!pool) {
        return [
            {
                key: `${version}.gpu.instanceType`,
                got: v.gpu.instanceType,
                expected: `an instance type the platform has a GPU pool of (${pools.join(", ") || "none"}), or add one to the platform's gpuPools`,
            },
        ];
    }
    const problems: ConfigProblem[] = [];
    if (v.gpu.volumeGiB !== pool.volumeGiB) {
        problems.push({
            key: `${version}.gpu.volumeGiB`,
            got: v.gpu.volumeGiB,
            expected: `${pool.volumeGiB}, the volume of the platform's ${v.gpu.instanceType} instances, which this version runs on`,
        });
    }
    const needed = instancesForDeployment(v.gpu.instanceType, { cpu: v.cpu, memory: v.memory, gpus: v.gpu.gpusPerTask }, v.scaling.maxCount);
    if (needed > pool.maxInstances) {
        problems.push({
            key: `${version}.scaling.maxCount`,
            got: v.scaling.maxCount,
            expected: `a count whose deployment fits the platform's ${v.gpu.instanceType} pool (${pool.maxInstances} instances; this needs ${needed}), or a larger pool`,
        });
    }
    return problems;
}
