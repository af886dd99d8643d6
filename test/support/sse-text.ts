/**
 * Reads a `text/event-stream` response as text, as far as a test needs: `until(needle)` reads
 * until the text so far contains `needle` (throws if the stream ends first); `text` is all read.
 */
export interface SseText {
  readonly text: string;
  until(needle: string): Promise<void>;
}

export function sseText(response: Response): SseText {
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = '';
  return {
    get text() {
      return text;
    },
    async until(needle: string) {
      while (!text.includes(needle)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`the stream ended before ${needle}`);
        text += value;
      }
    },
  };
}
