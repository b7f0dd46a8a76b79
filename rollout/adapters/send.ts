/** An AWS SDK client, as far as an adapter uses it: tests give a fake that answers `send`. */
export type Send<C extends { send: unknown }> = Pick<C, "send">;
