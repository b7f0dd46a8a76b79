/** An error as AWS's JSON protocols return it: its type (`__type`), message and HTTP status. */
export class AwsError extends Error {
    constructor(
        readonly type: string,
        message: string,
        readonly status = 400,
    ) {
        super(message);
    }
}
