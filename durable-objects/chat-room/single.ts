/**
 * At most one run in flight. A call while one runs gets that run's promise and, with `again` set,
 * one more run is asked for after it ends (the caller decides how: the room wakes its alarm), so a
 * request that came meanwhile is never lost and two runs never overlap (two drains would send the
 * same outbox rows; two write-throughs the same cursors).
 */
export class Single<T> {
  readonly #fn: () => Promise<T>;
  readonly #again: (() => void) | undefined;
  #running: Promise<T> | undefined;
  #missed = false;

  constructor(fn: () => Promise<T>, again?: () => void) {
    this.#fn = fn;
    this.#again = again;
  }

  run(): Promise<T> {
    if (this.#running) {
      this.#missed = true;
      return this.#running;
    }
    this.#running = this.#fn().finally(() => {
      this.#running = undefined;
      if (this.#missed) {
        this.#missed = false;
        this.#again?.();
      }
    });
    return this.#running;
  }
}
