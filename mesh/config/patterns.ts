/** Patterns of the values the config accepts (headers, paths, images, ARNs, ids), and the values AWS allows where it lists them. */

export const PROTOCOLS = ["http", "http2", "grpc"] as const;
export type Protocol = (typeof PROTOCOLS)[number];

// Lowercase because HTTP/2 and gRPC carry header names in lowercase; App Mesh caps names at 50.
export const HEADER_NAME = /^(?!grpc-)[a-z0-9][a-z0-9-]{0,49}$/;
export const HEADER_VALUE = /^[\x21-\x7e]{1,255}$/;
export const HTTP_PATH = /^\/[\x21-\x7e]{0,254}$/;
export const IMAGE = /^[a-z0-9][a-z0-9._\-/:@]*$/i;
export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** `s3://bucket/prefix`: a bucket name as S3 allows it, and a prefix without a leading or trailing slash. */
export const S3_URI = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])\/([\w!\-.*'()/]+[^/])$/;
/** A Secrets Manager secret or an SSM parameter, by ARN: what ECS can inject as a container secret. */
export const SECRET_ARN = /^arn:aws[a-z-]*:(secretsmanager:[a-z0-9-]+:\d{12}:secret:[\w/+=.@-]+|ssm:[a-z0-9-]+:\d{12}:parameter\/[\w/.-]+)$/;
export const SNS_TOPIC_ARN = /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[\w-]{1,256}$/;
export const KMS_KEY_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[0-9a-f-]{36}$/;
export const CIDR = /^(\d{1,3}\.){3}\d{1,3}\/(1[6-9]|2[0-4])$/;
export const VPC_ID = /^vpc-[0-9a-f]{8,17}$/;
export const SUBNET_ID = /^subnet-[0-9a-f]{8,17}$/;
/** A fully qualified stack name: organization, project, stack. */
export const STACK_NAME = /^[A-Za-z0-9][\w.-]*\/[A-Za-z0-9][\w.-]*\/[A-Za-z0-9][\w.-]*$/;

/** Retention periods CloudWatch Logs accepts. */
export const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];
