/**
 * A FIFO with O(1) push/shift/unshift (an array with a moving head), for the memory broker and store.
 * `Array.prototype.shift` is O(n) and would make a long queue quadratic.
 */
export class Deque<T> {
  private items: (T | undefined)[] = [];
  private head = 0;

  static of<T>(...items: T[]): Deque<T> {
    const deque = new Deque<T>();
    deque.items = items;
    return deque;
  }

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  /** Put an item in front of all others. */
  unshift(item: T): void {
    if (this.head > 0) this.items[--this.head] = item;
    else this.items.unshift(item);
  }

  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head++] = undefined;
    // Compact now and then so the consumed prefix does not grow without bound.
    if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  *[Symbol.iterator](): IterableIterator<T> {
    for (let i = this.head; i < this.items.length; i++) yield this.items[i] as T;
  }

  clear(): void {
    this.items = [];
    this.head = 0;
  }
}
