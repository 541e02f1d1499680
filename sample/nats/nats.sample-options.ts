/** Development defaults of the 'nats' section for the sample (none in production). */
export async function natsSampleOptions(): Promise<undefined> {
  return undefined;
}
