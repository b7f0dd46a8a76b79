/** The traffic backends, by the name a stack's `trafficBackend` gives: the program declares each, the rollout reads each one's weight. */
export const TRAFFIC_BACKENDS = ["appmesh", "lattice", "alb"] as const;
export type TrafficBackendName = (typeof TRAFFIC_BACKENDS)[number];
