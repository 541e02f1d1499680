/** Development defaults of the 'seald' section for the sample (none in production). */
export async function sealdSampleOptions(): Promise<undefined> {
  return undefined;
}
