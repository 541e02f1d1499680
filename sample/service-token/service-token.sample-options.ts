/** Development defaults of the 'service-token' section for the sample (none in production). */
export async function serviceTokenSampleOptions(): Promise<undefined> {
  return undefined;
}
