/** Development defaults of the 'vonage' section for the sample (none in production). */
export async function vonageSampleOptions(): Promise<undefined> {
  return undefined;
}
