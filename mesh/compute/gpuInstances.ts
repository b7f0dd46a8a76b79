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
    /** The GPU and its memory, for messages and the README. */
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
    ...family("g6e", "NVIDIA L40S, 48 GB", G_SIZES.map(([size, gpus, vcpus, memoryGiB]) => [size, gpus, vcpus, memoryGiB * 2])),
    ...family("p4d", "NVIDIA A100, 40 GB", [["24xlarge", 8, 96, 1152]]),
    ...family("p5", "NVIDIA H100, 80 GB", [["48xlarge", 8, 192, 2048]]),
};

export const GPU_INSTANCE_TYPES = Object.keys(GPU_INSTANCES);

/**
 * Memory ECS keeps back from tasks on an instance: the OS, the agent and Docker. ECS
 * registers less than the instance has; asking for all of it leaves a task unplaceable.
 */
const RESERVED_MIB = 2048;

/** Why a task of `cpu` units, `memory` MiB and `gpus` GPUs does not fit `instanceType`, per key; empty when it fits. */
export function gpuTaskProblems(instanceType: string, task: { cpu: number; memory: number; gpus: number }): { key: string; got: number; expected: string }[] {
    const instance = GPU_INSTANCES[instanceType];
    const problems = [];
    if (task.gpus > instance.gpus) problems.push({ key: "gpu.gpusPerTask", got: task.gpus, expected: `at most ${instance.gpus}, the GPUs of one ${instanceType}` });
    if (task.cpu > instance.vcpus * 1024) problems.push({ key: "cpu", got: task.cpu, expected: `at most ${instance.vcpus * 1024}, the CPU units of one ${instanceType}` });
    const memory = instance.memoryGiB * 1024 - RESERVED_MIB;
    if (task.memory > memory) problems.push({ key: "memory", got: task.memory, expected: `at most ${memory} MiB, what one ${instanceType} (${instance.memoryGiB} GiB) leaves to tasks` });
    return problems;
}
