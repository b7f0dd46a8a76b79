/** The health check of every task of a version, at the traffic layer and in the container. */
import { HTTP_PATH } from "./patterns";
import { field, fromJsonText, integer, matching, rule, section } from "../../contract/fields";

/** Active health check against every task of a version (App Mesh: each caller's Envoy; Lattice: the target group). */
export const healthCheck = section(
    {
        path: matching(HTTP_PATH, "a path starting with '/'")
            .default("/health")
            .describe("HTTP path probed (App Mesh's gRPC health check uses the gRPC health protocol instead)."),
        intervalSeconds: integer(5, 300).default(10).describe("Seconds between checks."),
        timeoutSeconds: integer(2, 60).default(5).describe("Seconds a check may take."),
        healthyThreshold: integer(2, 10).default(2).describe("Passed checks in a row before a task counts as healthy."),
        unhealthyThreshold: integer(2, 10).default(5).describe("Failed checks in a row before a task counts as unhealthy: 5 x 10 s tolerates a slow model."),
        command: field('a non-empty list of arguments, e.g. ["/bin/health", "--port", "8000"], or "none"', (raw) => {
            if (raw === "none") return "none" as const;
            const list = fromJsonText(raw);
            return Array.isArray(list) && list.length > 0 && list.every((a) => typeof a === "string" && a.length > 0) ? (list as string[]) : undefined;
        })
            .optional()
            .describe(
                "The container's own health check, run in the model server's container (`CMD` form, no shell): by default `curl` against `path`, which distroless images lack. `none` leaves the traffic layer's check alone (Lattice's or the ALB's target group, App Mesh's Envoy); gRPC servers have none by default.",
            ),
    },
    {
        rules: [
            rule<{ timeoutSeconds: number; intervalSeconds: number }>(
                ["timeoutSeconds", "intervalSeconds"],
                "timeoutSeconds is less than intervalSeconds",
                (h, report) => {
                    if (h.timeoutSeconds >= h.intervalSeconds) report("timeoutSeconds", h.timeoutSeconds, `less than intervalSeconds (${h.intervalSeconds})`);
                },
            ),
        ],
    },
);
