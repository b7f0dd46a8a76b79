/**
 * The golden set's runner: a Lambda function in the stack's private subnets that the rollout
 * invokes with batches of golden items (`handler.js`, shipped as it is: no image, no build).
 *
 * It reaches the service as the evaluation task does, from the same subnets and security
 * groups: a client in a VPC associated with the service network may call its services ("How
 * VPC Lattice works", Amazon VPC Lattice User Guide), and a function connected to a VPC sends
 * its traffic through network interfaces in the subnets given ("Giving Lambda functions access
 * to resources in an Amazon VPC", AWS Lambda Developer Guide). Lambda takes no inbound
 * connections, so the groups' ingress rules admit nothing to it.
 *
 * Its role holds what Lambda's VPC access needs and its own log group, and with IAM auth the
 * right to invoke the one service, nothing else: no S3 (the rollout reads the golden set and
 * sends the items in each invocation), no metrics API (what it measures it returns).
 */
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { policyDocument, serviceTrustPolicy } from "../compute/iam";
import { RUNNER_TIMEOUT_SECONDS } from "../../contract/golden";

export interface RunnerArgs {
    /** Its role, declared before the traffic layer (`runnerRoleFor`): a service with IAM auth names it. */
    role: aws.iam.Role;
    /** With IAM auth, the Lattice service it calls, which its role may invoke and its requests are signed for. */
    invokes?: pulumi.Input<string>;
    subnetIds: pulumi.Input<pulumi.Input<string>[]>;
    securityGroupIds: pulumi.Input<pulumi.Input<string>[]>;
    accountId: pulumi.Input<string>;
    region: pulumi.Input<string>;
    logRetentionDays: number;
}

/**
 * What Lambda needs of EC2 to attach a function to a VPC (the AWS managed policy
 * AWSLambdaVPCAccessExecutionRole's actions), scoped as far as EC2 allows: its Describe
 * actions only work on "*" (AWS Lambda Developer Guide, "Execution role and user
 * permissions"), a new interface only in these subnets and groups, and the rest on this
 * account's interfaces in this Region.
 */
function runnerPolicy(args: RunnerArgs, logGroupArn: pulumi.Input<string>): pulumi.Output<string> {
    const ec2 = (resources: pulumi.Input<pulumi.Input<string>[]>) =>
        pulumi.all([resources, args.region, args.accountId]).apply(([list, region, account]) => list.map((r) => `arn:aws:ec2:${region}:${account}:${r}`));
    const subnets = pulumi.output(args.subnetIds).apply((ids) => ids.map((id) => `subnet/${id}`));
    const groups = pulumi.output(args.securityGroupIds).apply((ids) => ids.map((id) => `security-group/${id}`));
    return policyDocument([
        { Effect: "Allow", Action: ["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"], Resource: "*" },
        {
            Effect: "Allow",
            Action: ["ec2:CreateNetworkInterface"],
            Resource: ec2(pulumi.all([subnets, groups]).apply(([s, g]) => ["network-interface/*", ...s, ...g])),
        },
        {
            Effect: "Allow",
            Action: ["ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"],
            Resource: ec2(["network-interface/*"]),
        },
        { Effect: "Allow", Action: ["logs:CreateLogStream", "logs:PutLogEvents"], Resource: pulumi.interpolate`${logGroupArn}:*` },
        ...(args.invokes ? [{ Effect: "Allow" as const, Action: ["vpc-lattice-svcs:Invoke"], Resource: pulumi.interpolate`${args.invokes}/*` }] : []),
    ]);
}

/** The runner's role: Lambda may assume it, for this account only. */
export function runnerRoleFor(name: string, accountId: pulumi.Input<string>, opts: pulumi.CustomResourceOptions): aws.iam.Role {
    return new aws.iam.Role(`${name}-role`, { assumeRolePolicy: serviceTrustPolicy("lambda.amazonaws.com", accountId) }, opts);
}

export class GoldenSetRunner extends pulumi.ComponentResource {
    readonly function: aws.lambda.Function;

    constructor(name: string, args: RunnerArgs, opts: pulumi.ComponentResourceOptions) {
        super("ai-canary:evaluation:GoldenSetRunner", name, {}, opts);
        const parent = { parent: this };
        const logGroup = new aws.cloudwatch.LogGroup(`${name}-logs`, { retentionInDays: args.logRetentionDays }, parent);
        const role = args.role;
        const policy = new aws.iam.RolePolicy(`${name}-policy`, { role: role.id, policy: runnerPolicy(args, logGroup.arn) }, parent);
        this.function = new aws.lambda.Function(
            name,
            {
                runtime: "nodejs22.x",
                handler: "index.handler",
                code: new pulumi.asset.AssetArchive({ "index.js": new pulumi.asset.FileAsset(path.join(__dirname, "handler.js")) }),
                role: role.arn,
                timeout: RUNNER_TIMEOUT_SECONDS,
                memorySize: 256,
                vpcConfig: { subnetIds: args.subnetIds, securityGroupIds: args.securityGroupIds },
                loggingConfig: { logFormat: "JSON", logGroup: logGroup.name },
                description: "Answers golden items on both versions through their pins, for the rollout's evaluation",
            },
            // The role's policy first: Lambda checks it can create the network interfaces when the function is created.
            { parent: this, dependsOn: [policy] },
        );
        this.registerOutputs({ functionName: this.function.name });
    }
}
