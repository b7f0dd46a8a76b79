/**
 * The GPU instance types a version may run on, with what ECS can place on one: GPUs,
 * vCPUs and memory (from the EC2 instance type pages). Checked at program start, so a
 * task that cannot fit its instance fails with the choices, not as a task stuck in
 * PROVISIONING after `up`.
 */

interface GpuInstance {
    gpus: number;
    vcpus: number;
    memoryGiB: number;
    /** The GPU and its memory, for messages and docs/compute.md. */
    gpu: string;
}

/** Sizes of a family that share one GPU model: [size, gpus, vcpus, memory GiB]. */
type Size = [string, number, number, number];

const family = (name: string, gpu: string, sizes: Size[]) =>
    Object.fromEntries(sizes.map(([size, gpus, vcpus, memoryGiB]) => [`${name}.${size}`, { gpus, vcpus, memoryGiB, gpu }]));

/** g5 and g6 come in the same sizes; g6e in the same with twice the memory. */
const G_SIZES: Size[] = [
    ["xlarge", 1, 4, 16],
    ["2xlarge", 1, 8, 32],
    ["4xlarge", 1, 16, 64],
    ["8xlarge", 1, 32, 128],
    ["12xlarge", 4, 48, 192],
    ["16xlarge", 1, 64, 256],
    ["24xlarge", 4, 96, 384],
    ["48xlarge", 8, 192, 768],
];

const GPU_INSTANCES: Record<string, GpuInstance> = {
    ...family("g5", "NVIDIA A10G, 24 GB", G_SIZES),
    ...family("g6", "NVIDIA L4, 24 GB", G_SIZES),
    ...family(
        "g6e",
        "NVIDIA L40S, 48 GB",
        G_SIZES.map(([size, gpus, vcpus, memoryGiB]) => [size, gpus, vcpus, memoryGiB * 2]),
    ),
    ...family("p4d", "NVIDIA A100, 40 GB", [["24xlarge", 8, 96, 1152]]),
    ...family("p5", "NVIDIA H100, 80 GB", [["48xlarge", 8, 192, 2048]]),
};

export const GPU_INSTANCE_TYPES = Object.keys(GPU_INSTANCES);

/**
 * Memory ECS keeps back from tasks on an instance: the OS, the agent and Docker. ECS
 * registers less than the instance has; asking for all of it leaves a task unplaceable.
 */
const RESERVED_MIB = 2048;

/** A task's reservation on its instance. */
interface GpuTask {
    cpu: number;
    memory: number;
    gpus: number;
}

/**
 * How a version's ECS service deploys: new tasks start beside the old ones (up to
 * `maximumPercent` of the desired count) and the old ones stop only once the new ones are
 * healthy (`minimumHealthyPercent` 100), so a version never serves from fewer tasks than
 * it had, even one that runs a single task.
 */
export const DEPLOYMENT = { minimumHealthyPercent: 100, maximumPercent: 200 } as const;

/** How many of a version's tasks one instance holds: whichever of GPUs, CPU and memory runs out first. */
export function tasksPerInstance(instanceType: string, task: GpuTask): number {
    const instance = GPU_INSTANCES[instanceType];
    return Math.max(
        1,
        Math.min(
            Math.floor(instance.gpus / task.gpus),
            Math.floor((instance.vcpus * 1024) / task.cpu),
            Math.floor((instance.memoryGiB * 1024 - RESERVED_MIB) / task.memory),
        ),
    );
}

/**
 * Instances a version's Auto Scaling group may grow to: enough for a deployment at the
 * version's largest size, when the old and the new tasks run side by side
 * (ECS `DeploymentConfiguration.maximumPercent`: "provided that the cluster resources
 * required to do this are available"). With fewer, the new tasks wait in PROVISIONING
 * and the deployment never completes.
 */
export function instancesForDeployment(instanceType: string, task: GpuTask, maxCount: number): number {
    return Math.ceil((maxCount * DEPLOYMENT.maximumPercent) / 100 / tasksPerInstance(instanceType, task));
}

/** Why a task of `cpu` units, `memory` MiB and `gpus` GPUs does not fit `instanceType`, per key; empty when it fits. */
export function gpuTaskProblems(instanceType: string, task: GpuTask): { key: string; got: number; expected: string }[] {
    const instance = GPU_INSTANCES[instanceType];
    const problems = [];
    if (task.gpus > instance.gpus)
        problems.push({ key: "gpu.gpusPerTask", got: task.gpus, expected: `at most ${instance.gpus}, the GPUs of one ${instanceType}` });
    if (task.cpu > instance.vcpus * 1024)
        problems.push({ key: "cpu", got: task.cpu, expected: `at most ${instance.vcpus * 1024}, the CPU units of one ${instanceType}` });
    const memory = instance.memoryGiB * 1024 - RESERVED_MIB;
    if (task.memory > memory)
        problems.push({
            key: "memory",
            got: task.memory,
            expected: `at most ${memory} MiB, what one ${instanceType} (${instance.memoryGiB} GiB) leaves to tasks`,
        });
    return problems;
}
