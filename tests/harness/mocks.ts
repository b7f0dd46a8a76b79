/**
 * Pulumi mocks that behave like the engine where it matters to this program:
 * - auto-naming: a resource whose name input is unset gets `<logical name>-<7 hex>`,
 *   so a literal name pointing at another resource matches nothing;
 * - ARNs built from the final names (App Mesh ARNs nest mesh, router and node names);
 * - data-source calls return what AWS would, for the lookups this program makes.
 * Every registration is recorded with its resolved inputs for tests to assert on.
 */
import * as crypto from "crypto";
import * as pulumi from "@pulumi/pulumi";

export const REGION = "us-west-2";
export const ACCOUNT = "123456789012";
/** Subnets of an existing VPC that have no route table of their own and use the VPC's main one. */
export const IMPLICIT_SUBNETS = ["subnet-0feed0feed0feed01"];
export const MAIN_ROUTE_TABLE = "rtb-0main0main0main01";

export interface Registered {
    type: string;
    /** Logical name, as given to the constructor. */
    name: string;
    /** Resolved inputs, as the engine would receive them. */
    inputs: Record<string, any>;
    /** Outputs the mock returned: the inputs plus auto-name, ARN and computed outputs. */
    state: Record<string, any>;
    /** The id the mock gave it, as AWS would. */
    id: string;
}

/** Short, stable suffix: the same logical name gets the same auto-name in every run, as state would keep it. */
const suffix = (name: string) => crypto.createHash("sha1").update(name).digest("hex").slice(0, 7);

/** The input that carries a resource's physical name, where it is not `name`. */
const NAME_PROPERTY: Record<string, string> = {
    "aws:ecs/taskDefinition:TaskDefinition": "family",
};

/** Types AWS names itself, with no name input for Pulumi to auto-name. */
const UNNAMED = new Set([
    "aws:ec2/securityGroupRule:SecurityGroupRule",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    "aws:servicediscovery/instance:Instance",
    "awsx:ec2:Vpc",
]);

/** AWS-style ids for the types whose ids the program reads. */
const ID_PREFIX: Record<string, string> = {
    "aws:servicediscovery/service:Service": "srv-",
    "aws:servicediscovery/privateDnsNamespace:PrivateDnsNamespace": "ns-",
    "aws:ec2/securityGroup:SecurityGroup": "sg-",
    "aws:vpclattice/serviceNetwork:ServiceNetwork": "sn-",
    "aws:vpclattice/service:Service": "svc-",
    "aws:vpclattice/targetGroup:TargetGroup": "tg-",
    "aws:vpclattice/listener:Listener": "svc-listener-",
    "aws:vpclattice/listenerRule:ListenerRule": "rule-",
};

/** Outputs AWS (or a multi-language component) computes, for the types whose outputs the program reads. */
const COMPUTED: Record<string, (name: string) => Record<string, unknown>> = {
    // An ALB's DNS name, and the hosted zone its region's load balancers are in (us-west-2's), for alias records.
    "aws:lb/loadBalancer:LoadBalancer": (name) => ({ dnsName: `${name}-${suffix(name)}.elb.${REGION}.amazonaws.com`, zoneId: "Z1H1FL5HABSF5" }),
    "aws:vpclattice/service:Service": (name) => ({
        dnsEntries: [{ domainName: `${name}-0${suffix(name)}.7d67968.vpc-lattice-svcs.${REGION}.on.aws`, hostedZoneId: "Z07129721W2WQF3AVFD1E" }],
    }),
    "aws:vpclattice/listener:Listener": (name) => ({ listenerId: `listener-${suffix(name)}` }),
    "aws:route53/zone:Zone": (name) => ({ zoneId: `Z0${suffix(name).toUpperCase()}ABCDEFGHIJK` }),
    "aws:ec2/launchTemplate:LaunchTemplate": () => ({ latestVersion: 1 }),
    // awsx components register as one resource under mocks; these are the outputs a real VPC reports.
    "awsx:ec2:Vpc": (name) => ({
        vpcId: `vpc-${suffix(name)}`,
        privateSubnetIds: [`subnet-${suffix(name + "private-a")}`, `subnet-${suffix(name + "private-b")}`],
        publicSubnetIds: [`subnet-${suffix(name + "public-a")}`, `subnet-${suffix(name + "public-b")}`],
        // The NAT gateways' Elastic IPs, one per zone, in the documentation range (RFC 5737).
        eips: [{ publicIp: "198.51.100.10" }, { publicIp: "198.51.100.11" }],
    }),
};

function arnFor(type: string, name: string, inputs: Record<string, any>, id: string): string {
    const base = (service: string) => `arn:aws:${service}:${REGION}:${ACCOUNT}`;
    const [pkg, mod] = type.split(":");
    const kind = type.split(":")[2];
    if (pkg === "aws" && mod.startsWith("appmesh/")) {
        const meshPath = `mesh/${inputs.meshName}`;
        switch (kind) {
            case "Mesh":
                return `${base("appmesh")}:mesh/${name}`;
            case "Route":
                return `${base("appmesh")}:${meshPath}/virtualRouter/${inputs.virtualRouterName}/route/${name}`;
            case "GatewayRoute":
                return `${base("appmesh")}:${meshPath}/virtualGateway/${inputs.virtualGatewayName}/gatewayRoute/${name}`;
            default:
                return `${base("appmesh")}:${meshPath}/${kind[0].toLowerCase()}${kind.slice(1)}/${name}`;
        }
    }
    if (pkg === "aws" && mod.startsWith("vpclattice/")) {
        // Lattice ARNs carry the resource id, and a listener's sits under its service's.
        const path = { ServiceNetwork: "servicenetwork", Service: "service", TargetGroup: "targetgroup" }[kind];
        if (path) return `${base("vpc-lattice")}:${path}/${id}`;
    }
    switch (type) {
        case "aws:servicediscovery/service:Service":
            return `${base("servicediscovery")}:service/${id}`;
        // ELB ARNs end with the type, the name and an id: `loadbalancer/app/<name>/<id>`, `targetgroup/<name>/<id>`.
        case "aws:lb/loadBalancer:LoadBalancer":
            return `${base("elasticloadbalancing")}:loadbalancer/app/${name}/${suffix(name)}`;
        case "aws:lb/targetGroup:TargetGroup":
            return `${base("elasticloadbalancing")}:targetgroup/${name}/${suffix(name)}`;
        case "aws:lb/listener:Listener":
            return `${base("elasticloadbalancing")}:listener/app/${name}/${suffix(name)}`;
        case "aws:iam/role:Role":
            return `arn:aws:iam::${ACCOUNT}:role/${name}`;
        case "aws:iam/policy:Policy":
            return `arn:aws:iam::${ACCOUNT}:policy/${name}`;
        case "aws:cloudwatch/logGroup:LogGroup":
            return `${base("logs")}:log-group:${name}`;
        case "aws:ecs/taskDefinition:TaskDefinition":
            // Any change to a task definition registers a new revision, so the ARN (and every
            // service that names it) changes with it; a stand-in revision from the inputs does too.
            return `${base("ecs")}:task-definition/${name}:${(parseInt(suffix(JSON.stringify(inputs)), 16) % 9999) + 1}`;
        default:
            return `${base(mod.split("/")[0])}:${kind.toLowerCase()}/${name}`;
    }
}

export class EngineLikeMocks implements pulumi.runtime.Mocks {
    readonly registered: Registered[] = [];

    /**
     * @param preview behave like `pulumi preview` of a new stack: names are known (the
     * provider computes auto-names before create), but ids, ARNs and other outputs AWS
     * computes are unknown.
     */
    constructor(
        private readonly preview = false,
        /** What each `StackReference` (by its name, `org/project/stack`) answers: the referenced stack's outputs. */
        private readonly stackReferences: Record<string, Record<string, unknown>> = {},
    ) {}

    readonly calls: { token: string; inputs: Record<string, any> }[] = [];

    newResource(args: pulumi.runtime.MockResourceArgs): { id: string; state: Record<string, any> } {
        const inputs = args.inputs as Record<string, any>;
        if (args.type === "pulumi:pulumi:StackReference") {
            // As the engine reads a stack reference: the referenced stack's outputs, or an error when there is no such stack.
            const outputs = this.stackReferences[inputs.name];
            if (!outputs) throw new Error(`unknown stack "${inputs.name}"`);
            return { id: inputs.name, state: { name: inputs.name, outputs, secretOutputNames: [] } };
        }
        const state: Record<string, any> = { ...inputs };
        let physicalName = args.name;
        if (args.custom !== false && !UNNAMED.has(args.type)) {
            const property = NAME_PROPERTY[args.type] ?? "name";
            physicalName = inputs[property] ?? `${args.name}-${suffix(args.name)}`;
            state[property] = physicalName;
        }
        const id = ID_PREFIX[args.type] ? `${ID_PREFIX[args.type]}${suffix(args.name)}` : `${physicalName}-id`;
        if (this.preview) {
            this.registered.push({ type: args.type, name: args.name, inputs, state, id: "" });
            return { id: "", state };
        }
        state.arn = arnFor(args.type, physicalName, inputs, id);
        Object.assign(state, COMPUTED[args.type]?.(args.name) ?? {});
        this.registered.push({ type: args.type, name: args.name, inputs, state, id });
        return { id, state };
    }

    call(args: pulumi.runtime.MockCallArgs): Record<string, any> {
        this.calls.push({ token: args.token, inputs: args.inputs });
        switch (args.token) {
            case "aws:servicediscovery/getDnsNamespace:getDnsNamespace":
                return {
                    id: `ns-${suffix(args.inputs.name)}`,
                    name: args.inputs.name,
                    type: args.inputs.type,
                    arn: `arn:aws:servicediscovery:${REGION}:${ACCOUNT}:namespace/ns-${suffix(args.inputs.name)}`,
                    hostedZone: "Z0123456789ABCDEFGHIJ",
                };
            case "aws:index/getRegion:getRegion":
                return { name: REGION, region: REGION, id: REGION };
            case "aws:index/getCallerIdentity:getCallerIdentity":
                return { accountId: ACCOUNT, arn: `arn:aws:iam::${ACCOUNT}:user/test`, userId: "AIDTEST" };
            case "aws:ec2/getManagedPrefixList:getManagedPrefixList":
                return { id: `pl-${suffix(String(args.inputs.name))}`, name: args.inputs.name, addressFamily: "IPv4" };
            case "aws:ec2/getRouteTables:getRouteTables": {
                // As DescribeRouteTables filters: `association.subnet-id` lists only explicit associations
                // (a subnet in IMPLICIT_SUBNETS has none and uses the main route table); `association.main` the main one.
                const [filter] = args.inputs.filters ?? [];
                const ids =
                    filter?.name === "association.main"
                        ? [MAIN_ROUTE_TABLE]
                        : (filter?.values ?? [])
                              .filter((subnet: string) => !IMPLICIT_SUBNETS.includes(subnet))
                              .map((subnet: string) => `rtb-${suffix(subnet)}`);
                return { id: "rtbs", ids, vpcId: args.inputs.vpcId };
            }
            case "aws:index/getPartition:getPartition":
                return { partition: "aws", dnsSuffix: "amazonaws.com" };
            default:
                throw new Error(`the mocks do not know the data source ${args.token}; add it to tests/harness/mocks.ts`);
        }
    }
}
