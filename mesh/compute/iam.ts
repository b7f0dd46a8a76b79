/**
 * IAM documents every task needs, each scoped to its own service's resources. Plain
 * functions of ARNs, so the scoping is tested directly. A traffic backend adds its own
 * (`VersionJoin.taskPolicy`, or roles it declares for the service).
 */
import * as pulumi from "@pulumi/pulumi";

type Statement = {
    Effect: "Allow";
    Action: string[];
    Resource: pulumi.Input<string> | pulumi.Input<pulumi.Input<string>[]>;
    Condition?: Record<string, Record<string, string[]>>;
};

/** An IAM policy document of Allow statements. */
export const policyDocument = (statements: Statement[]) => pulumi.jsonStringify({ Version: "2012-10-17", Statement: statements });

/**
 * Trust policy for a role an AWS service assumes on this account's behalf, and only this
 * account's: for services that set `aws:SourceAccount` when they assume it (ECS tasks, ECS
 * itself), not for EC2 instance profiles (`containerInstanceTrustPolicy`).
 */
export function serviceTrustPolicy(service: string, accountId: pulumi.Input<string>): pulumi.Output<string> {
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

/**
 * Trust policy of an ECS container instance's role, as AWS documents it ("Amazon ECS
 * container instance IAM role"): EC2 may assume it, with no condition. EC2 sets no
 * `aws:SourceAccount` when an instance profile's role is assumed, and a `StringEquals` on
 * a missing key fails closed: the instance would get no credentials and never register.
 */
export function containerInstanceTrustPolicy(): string {
    return JSON.stringify({
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }],
    });
}

const ECR_IMAGE = /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com\/([^:@]+)/;

/** The ECR repository ARN of a private ECR image, or undefined for any other registry. */
function ecrRepositoryArn(image: string): string | undefined {
    const m = ECR_IMAGE.exec(image);
    return m ? `arn:aws:ecr:${m[2]}:${m[1]}:repository/${m[3]}` : undefined;
}

/** Secrets a task's containers get by reference, and the KMS key they are encrypted with when not AWS's default. */
export interface SecretReferences {
    arns: string[];
    kmsKeyArn?: string;
}

/**
 * The execution role: write to the service's own log group, for a private ECR image pull
 * from that one repository, and read exactly the secrets its containers name.
 * `ecr:GetAuthorizationToken` has no resource type in IAM, so it is the one action that
 * must name `*`.
 */
export function executionPolicy(logGroupArn: pulumi.Input<string>, image: string, secrets: SecretReferences = { arns: [] }): pulumi.Output<string> {
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
    const secretsManager = secrets.arns.filter((arn) => arn.includes(":secretsmanager:"));
    const parameters = secrets.arns.filter((arn) => arn.includes(":ssm:"));
    if (secretsManager.length > 0) statements.push({ Effect: "Allow", Action: ["secretsmanager:GetSecretValue"], Resource: secretsManager });
    if (parameters.length > 0) statements.push({ Effect: "Allow", Action: ["ssm:GetParameters"], Resource: parameters });
    if (secrets.kmsKeyArn) statements.push({ Effect: "Allow", Action: ["kms:Decrypt"], Resource: secrets.kmsKeyArn });
    return policyDocument(statements);
}

/**
 * The task role's read of a version's weights: list that prefix of the bucket and get its
 * objects, and nothing else in S3 (and decrypt with their KMS key, if one is named).
 */
export function weightsReadPolicy(bucket: string, prefix: string, kmsKeyArn?: string): pulumi.Output<string> {
    return policyDocument([
        { Effect: "Allow", Action: ["s3:ListBucket"], Resource: `arn:aws:s3:::${bucket}`, Condition: { StringLike: { "s3:prefix": [prefix, `${prefix}/*`] } } },
        { Effect: "Allow", Action: ["s3:GetObject"], Resource: `arn:aws:s3:::${bucket}/${prefix}/*` },
        ...(kmsKeyArn ? [{ Effect: "Allow" as const, Action: ["kms:Decrypt"], Resource: kmsKeyArn }] : []),
    ]);
}

/**
 * A GPU instance's role: what the ECS agent on it calls, on its own cluster and container
 * instances only. Tasks pull images and log through their execution roles, so the
 * instance needs none of that (and `ECS_AWSVPC_BLOCK_IMDS` keeps tasks from borrowing its
 * credentials). `ecs:DiscoverPollEndpoint` has no resource type in IAM.
 */
export function containerInstancePolicy(clusterArn: pulumi.Input<string>): pulumi.Output<string> {
    const instances = pulumi.output(clusterArn).apply((arn) => arn.replace(":cluster/", ":container-instance/") + "/*");
    return policyDocument([
        { Effect: "Allow", Action: ["ecs:DiscoverPollEndpoint"], Resource: "*" },
        {
            Effect: "Allow",
            Action: [
                "ecs:RegisterContainerInstance",
                "ecs:DeregisterContainerInstance",
                "ecs:SubmitContainerStateChange",
                "ecs:SubmitTaskStateChange",
                "ecs:SubmitAttachmentStateChanges",
            ],
            Resource: clusterArn,
        },
        { Effect: "Allow", Action: ["ecs:Poll", "ecs:StartTelemetrySession", "ecs:UpdateContainerInstancesState", "ecs:TagResource"], Resource: instances },
    ]);
}

/** Writing one log stream of a log group, and nothing else in CloudWatch Logs (the metrics collector's embedded-metric-format events). */
export function logStreamWritePolicy(logGroupArn: pulumi.Input<string>, stream: string): pulumi.Output<string> {
    return policyDocument([
        { Effect: "Allow", Action: ["logs:CreateLogStream", "logs:PutLogEvents"], Resource: pulumi.interpolate`${logGroupArn}:log-stream:${stream}` },
    ]);
}

/** Publishing metrics to one CloudWatch namespace (PutMetricData has no resource type, so the namespace is a condition). */
export function putMetricDataPolicy(namespace: string): pulumi.Output<string> {
    return policyDocument([
        { Effect: "Allow", Action: ["cloudwatch:PutMetricData"], Resource: "*", Condition: { StringEquals: { "cloudwatch:namespace": [namespace] } } },
    ]);
}

/**
 * ECS Exec's channel from a task to Session Manager, on the task role ("ECS Exec" in the
 * ECS developer guide). The `ssmmessages` actions have no resource type in IAM, so `*`;
 * nothing else is granted, and a task without it cannot open a session.
 */
export function execCommandPolicy(): pulumi.Output<string> {
    return policyDocument([
        {
            Effect: "Allow",
            Action: ["ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel", "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel"],
            Resource: "*",
        },
    ]);
}
