/**
 * A binary min-heap whose items remember their own position, so that any item can be removed in
 * O(log n) (an aborted waiter, a waiter rejected at its deadline). An item may sit in several heaps
 * at once as long as each heap uses its own position field.
 */
export class IndexedHeap<T> {
  private readonly items: T[] = [];

  /**
   * @param before  true when `a` must come out before `b`
   * @param getIndex  the item's position in this heap (−1 when not in it)
   * @param setIndex  stores the item's position in this heap
   */
  constructor(
    private readonly before: (a: T, b: T) => boolean,
    private readonly getIndex: (item: T) => number,
    private readonly setIndex: (item: T, index: number) => void,
  ) {}

  get size(): number {
    return this.items.length;
  }

  peek(): T | undefined {
    return this.items[0];
  }

  push(item: T): void {
    this.items.push(item);
    this.up(this.items.length - 1, item);
  }

  pop(): T | undefined {
    const top = this.items[0];
    if (top !== undefined) this.remove(top);
    return top;
  }

  /** Removes `item` if it is in this heap; returns whether it was. */
  remove(item: T): boolean {
    const index = this.getIndex(item);
    if (index < 0 || this.items[index] !== item) return false;
    this.setIndex(item, -1);
    const last = this.items.pop()!;
    if (index === this.items.length) return true;
    this.items[index] = last;
    this.setIndex(last, index);
    if (index > 0 && this.before(last, this.items[(index - 1) >> 1]!)) this.up(index, last);
    else this.down(index, last);
    return true;
  }

  /** Every item, in no particular order (a copy). */
  toArray(): T[] {
    return this.items.slice();
  }

  clear(): void {
    for (const item of this.items) this.setIndex(item, -1);
    this.items.length = 0;
  }

  private up(index: number, item: T): void {
    while (index > 0) {
      const parentIndex = (index - 1) >> 1;
      const parent = this.items[parentIndex]!;
      if (!this.before(item, parent)) break;
      this.items[index] = parent;
      this.setIndex(parent, index);
      index = parentIndex;
    }
    this.items[index] = item;
    this.setIndex(item, index);
  }

  private down(index: number, item: T): void {
    const length = this.items.length;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= length) break;
      const right = left + 1;
      let child = left;
      if (right < length && this.before(this.items[right]!, this.items[left]!)) child = right;
      const childItem = this.items[child]!;
      if (!this.before(childItem, item)) break;
      this.items[index] = childItem;
      this.setIndex(childItem, index);
      index = child;
    }
    this.items[index] = item;
    this.setIndex(item, index);
  }
}
