/**
 * IAM policy documents for one version's task, each scoped to that version's own
 * resources. Plain functions of ARNs, so the scoping is tested directly.
 */
import * as pulumi from "@pulumi/pulumi";

type Statement = { Effect: "Allow"; Action: string[]; Resource: pulumi.Input<string> | pulumi.Input<string>[] };
const policy = (statements: Statement[]) => pulumi.jsonStringify({ Version: "2012-10-17", Statement: statements });

/** Trust policy for a role an AWS service assumes on this account's behalf, and only this account's. */
function serviceTrustPolicy(service: string, accountId: pulumi.Input<string>): pulumi.Output<string> {
    return pulumi.jsonStringify({
        Version: "2012-10-17",
        Statement: [
            {
                Effect: "Allow",
                Principal: { Service: service },
                Action: "sts:AssumeRole",
                Condition: { StringEquals: { "aws:SourceAccount": accountId } },
            },
        ],
    });
}

/** Roles ECS tasks assume (task and execution roles). */
export const ecsTasksTrustPolicy = (accountId: pulumi.Input<string>) => serviceTrustPolicy("ecs-tasks.amazonaws.com", accountId);

/** The ECS infrastructure role, which ECS itself assumes to register tasks in VPC Lattice. */
export const ecsInfrastructureTrustPolicy = (accountId: pulumi.Input<string>) => serviceTrustPolicy("ecs.amazonaws.com", accountId);

/**
 * What ECS needs to keep one version's tasks registered in its own target group. The
 * EC2 Describe actions have no resource type in IAM, so they name `*`; AWS's managed
 * policy for this names every target group, this names one.
 */
export function latticeRegistrationPolicy(targetGroupArn: pulumi.Input<string>): pulumi.Output<string> {
    return policy([
        {
            Effect: "Allow",
            Action: ["vpc-lattice:RegisterTargets", "vpc-lattice:DeregisterTargets", "vpc-lattice:GetTargetGroup", "vpc-lattice:ListTargets"],
            Resource: targetGroupArn,
        },
        { Effect: "Allow", Action: ["ec2:DescribeSubnets", "ec2:DescribeVpcs", "ec2:DescribeInstances"], Resource: "*" },
    ]);
}

/** The task role: its Envoy may read its own mesh resource's config (node or gateway), and nothing else. */
export function envoyPolicy(meshResourceArn: pulumi.Input<string>): pulumi.Output<string> {
    return policy([{ Effect: "Allow", Action: ["appmesh:StreamAggregatedResources"], Resource: meshResourceArn }]);
}

const ECR_IMAGE = /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com\/([^:@]+)/;

/** The ECR repository ARN of a private ECR image, or undefined for any other registry. */
function ecrRepositoryArn(image: string): string | undefined {
    const m = ECR_IMAGE.exec(image);
    return m ? `arn:aws:ecr:${m[2]}:${m[1]}:repository/${m[3]}` : undefined;
}

/**
 * The execution role: write to the version's own log group and, for a private ECR
 * image, pull from that one repository. `ecr:GetAuthorizationToken` has no resource
 * type in IAM, so it is the one action that must name `*`.
 */
export function executionPolicy(logGroupArn: pulumi.Input<string>, image: string): pulumi.Output<string> {
    const statements: Statement[] = [
        {
            Effect: "Allow",
            Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
            Resource: pulumi.interpolate`${logGroupArn}:log-stream:*`,
        },
    ];
    const repository = ecrRepositoryArn(image);
    if (repository) {
        statements.push(
            { Effect: "Allow", Action: ["ecr:GetAuthorizationToken"], Resource: "*" },
            { Effect: "Allow", Action: ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"], Resource: repository },
        );
    }
    return policy(statements);
}
