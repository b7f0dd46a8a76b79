import * as pulumi from "@pulumi/pulumi";
import { loadConfig } from "./mesh/config";
import { InferenceCanary } from "./mesh/canary";

// Validation throws before any resource is declared, so bad config changes nothing.
const stackConfig = new pulumi.Config();
const config = loadConfig((key) => stackConfig.get(key));

const canary = new InferenceCanary("inference", { config });
const traffic = canary.traffic;

export const meshName = traffic.mesh.name;
export const virtualServiceName = traffic.virtualService.name;
export const virtualRouterName = traffic.router.name;
export const weightedRouteName = traffic.weightedRoute.name;
export const pinRouteName = traffic.pinRoute.name;
export const stableVirtualNodeName = traffic.nodes.stable.name;
export const canaryVirtualNodeName = traffic.nodes.canary.name;
export const canaryWeight = canary.weights.canary;
export const stableWeight = canary.weights.stable;
export const clusterName = canary.cluster.name;
export const stableServiceName = canary.services.stable.service.name;
export const canaryServiceName = canary.services.canary.service.name;
export const vpcId = canary.network.vpcId;
export const ingressUrl = canary.ingress?.url;
export const canaryErrorRateAlarmName = canary.observability.errorRateAlarm.name;
export const canaryLatencyAlarmName = canary.observability.latencyAlarm.name;
export const dashboardName = canary.observability.dashboard.dashboardName;
