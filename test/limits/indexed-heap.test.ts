import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IndexedHeap } from '../../src/limits/indexed-heap.js';

interface Item {
  value: number;
  index: number;
}

function heap(): IndexedHeap<Item> {
  return new IndexedHeap<Item>(
    (a, b) => a.value < b.value,
    (item) => item.index,
    (item, i) => {
      item.index = i;
    },
  );
}

describe('IndexedHeap', () => {
  it('pops in order after any pushes and removals', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 50 }), { maxLength: 60 }), fc.array(fc.nat(), { maxLength: 20 }), (values, removals) => {
        const h = heap();
        const items = values.map((value) => ({ value, index: -1 }));
        for (const item of items) h.push(item);
        const removed = new Set<Item>();
        for (const r of removals) {
          const item = items[r % Math.max(1, items.length)];
          if (item === undefined) continue;
          expect(h.remove(item)).toBe(!removed.has(item));
          removed.add(item);
          expect(item.index).toBe(-1);
        }
        const out: number[] = [];
        for (let item = h.pop(); item !== undefined; item = h.pop()) out.push(item.value);
        const expected = items.filter((i) => !removed.has(i)).map((i) => i.value).sort((a, b) => a - b);
        expect(out).toEqual(expected);
      }),
    );
  });
});
