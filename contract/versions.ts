/** The two versions every service runs side by side: stable serves everyone, the canary is judged against it. */
export const VERSIONS = ["stable", "canary"] as const;
export type Version = (typeof VERSIONS)[number];

/** One value per version, made by `make` for stable, then for the canary. */
export function byVersion<T>(make: (version: Version) => T): Record<Version, T> {
    return { stable: make("stable"), canary: make("canary") };
}
