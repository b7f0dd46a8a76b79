/**
 * Text the program writes into AWS fields whose characters AWS restricts. The AWS provider
 * refuses a bad value before any call, so `pulumi preview` and `up` fail on it; checking it
 * where the text is written makes the program's own tests fail instead.
 */

/**
 * What EC2 allows in a security group's description and in each rule's description
 * (EC2 API reference, `IpRange.Description` and `CreateSecurityGroup` GroupDescription, in a
 * VPC): up to 255 of a-z, A-Z, 0-9, spaces and `._-:/()#,@[]+=&;{}!$*`.
 */
const EC2_DESCRIPTION = /^[a-zA-Z0-9 ._\-:/()#,@[\]+=&;{}!$*]{0,255}$/;

/** A security group's or a rule's description, refused at program start if EC2 would refuse it. */
export function ec2Description(text: string): string {
    if (!EC2_DESCRIPTION.test(text)) {
        const bad = [...new Set([...text].filter((c) => !EC2_DESCRIPTION.test(c)))].map((c) => JSON.stringify(c)).join(", ");
        throw new Error(`EC2 refuses the description ${JSON.stringify(text)}: ${text.length > 255 ? "over 255 characters" : `it may not contain ${bad}`}`);
    }
    return text;
}
