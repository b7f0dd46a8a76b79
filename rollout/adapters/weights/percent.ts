/** The canary's share of the weights a traffic layer reports, in whole percent. */
export const percent = (canary: number, total: number) => (total === 0 ? 0 : Math.round((100 * canary) / total));
