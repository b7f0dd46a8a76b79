/**
 * Fargate's task sizes: each CPU value allows only some memory values. Checked at
 * program start so a bad pair fails with the valid choices, not minutes into `up`.
 */

const GIB = 1024;
const range = (from: number, to: number, step: number) => Array.from({ length: (to - from) / step + 1 }, (_, i) => from + i * step);

/** CPU units (1024 = 1 vCPU) to the memory sizes (MiB) Fargate accepts with them. */
const FARGATE_SIZES: Record<number, number[]> = {
    256: [512, 1 * GIB, 2 * GIB],
    512: range(1 * GIB, 4 * GIB, GIB),
    1024: range(2 * GIB, 8 * GIB, GIB),
    2048: range(4 * GIB, 16 * GIB, GIB),
    4096: range(8 * GIB, 30 * GIB, GIB),
    8192: range(16 * GIB, 60 * GIB, 4 * GIB),
    16384: range(32 * GIB, 120 * GIB, 8 * GIB),
};

export const FARGATE_CPUS = Object.keys(FARGATE_SIZES).map(Number);

/** Why `memory` does not go with `cpu` (one of `FARGATE_CPUS`) on Fargate, or undefined when it does. */
export function fargateMemoryProblem(cpu: number, memory: number): string | undefined {
    const allowed = FARGATE_SIZES[cpu];
    return allowed.includes(memory) ? undefined : `with cpu ${cpu}, memory (MiB) one of ${allowed.join(", ")}`;
}
