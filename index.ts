import * as pulumi from "@pulumi/pulumi";
import { loadConfig } from "./mesh/config";
import { InferenceCanary } from "./mesh/canary";

// Validation throws before any resource is declared, so bad config changes nothing.
const stackConfig = new pulumi.Config();
const namespace = `${pulumi.getProject()}:`;
const setKeys = Object.keys(pulumi.runtime.allConfig())
    .filter((key) => key.startsWith(namespace))
    .map((key) => key.slice(namespace.length));
const config = loadConfig((key) => stackConfig.get(key), setKeys);

const canary = new InferenceCanary("inference", { config });

// The stack outputs: the same keys for every traffic backend, plus the backend's own.
export = canary.outputs;
