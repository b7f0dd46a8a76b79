/** The two versions every service runs side by side: stable serves everyone, the canary is judged against it. */
export const VERSIONS = ["stable", "canary"] as const;
export type Version = (typeof VERSIONS)[number];
