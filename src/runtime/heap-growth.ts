import { setFlagsFromString } from 'node:v8';

/**
 * Sets how far V8 lets the old generation grow past what survived the last full GC before it
 * collects again (`runtime.heapGrowingPercent`). Left to itself, V8 picks up to 4× when GC is
 * cheap relative to the program, and under load the optimizer's heap holds mostly garbage between
 * full GCs: peak RSS at c=500 was 213–221 MiB for the pass-through. At 100 % (2×) it was 147–166 MiB;
 * CPU per request moved within the noise (bench:ab, paired: 0.96× at c=50, 1.02× at c=500; with
 * cache, dedupe and limits at c=500 1.04×, peak RSS 309 → 255 MiB). Lower values cost CPU: 20 %
 * measured +7 % (pass-through) and +17 % (cache+dedupe+limits). The default is 75 % (1.75×): against
 * 100 %, peak RSS at c=500 153 → 145 MiB (pass-through) and 264 → 250 MiB (cache+dedupe+limits), and at
 * c=50 142 → 135 MiB, for 1.02–1.06× the CPU per request; 50 % gave 143 MiB for 1.16×.
 *
 * V8 reads the flag each time it sets the next GC limit, so setting it at start, before the work,
 * takes effect. 0 leaves V8's own choice.
 */
export function applyHeapGrowth(percent: number, setFlags: (flags: string) => void = setFlagsFromString): void {
  if (percent > 0) setFlags(`--heap-growing-percent=${percent}`);
}
