/** `rollout abort`: the running rollout, wherever it runs, rolls back at its next sample. */
import { owner, withStack } from "./session";

export async function abort(name: string): Promise<number> {
    const { control } = await withStack(name);
    const lease = await control.lease();
    if (!lease) {
        console.log(`no rollout holds ${name}; nothing to abort`);
        return 0;
    }
    await control.requestAbort(owner());
    console.log(`abort requested: the rollout held by ${lease.owner} rolls back at its next sample`);
    return 0;
}
