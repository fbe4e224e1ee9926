/**
 * The load generator's model of its own keys: what each key holds. A reply
 * is right when it is the one the model predicts. Each load worker owns its
 * keys (no other client writes them), so the prediction is exact; a worker
 * whose connection was reset mid-request moves to fresh keys (the commands
 * of the reset connection may still run later) and drops the old model.
 * Pure: tests/soak_trend_test.ts.
 *
 * @module
 */

/** What a key holds: a string, or null for no key. */
export type Held = string | null;

/** A command the model knows. */
export type ModelCommand =
  | { op: "SET"; key: string; value: string }
  | { op: "GET"; key: string }
  | { op: "INCR"; key: string }
  | { op: "DEL"; key: string };

/** What the keys of one load worker hold. */
export class RedisModel {
  #held = new Map<string, string>();

  /**
   * What `key` holds now.
   *
   * @param key the key.
   * @returns its value, or null when there is no such key.
   */
  held(key: string): Held {
    return this.#held.get(key) ?? null;
  }

  /**
   * The reply `cmd` must get now, decoded (`"OK"`, a string or null, an integer).
   *
   * @param cmd the command.
   * @returns the reply the model predicts.
   */
  expected(cmd: ModelCommand): string | number | null {
    const v = this.held(cmd.key);
    switch (cmd.op) {
      case "SET":
        return "OK";
      case "GET":
        return v;
      case "INCR":
        return (v === null ? 0 : Number(v)) + 1;
      case "DEL":
        return v === null ? 0 : 1;
    }
  }

  /**
   * Check `reply` to `cmd` and apply the command to the model.
   *
   * @param cmd the command sent.
   * @param reply the decoded reply.
   * @returns true when the reply is the one predicted.
   */
  check(cmd: ModelCommand, reply: unknown): boolean {
    const ok = reply === this.expected(cmd);
    switch (cmd.op) {
      case "SET":
        this.#held.set(cmd.key, cmd.value);
        break;
      case "INCR":
        this.#held.set(cmd.key, String(this.expected(cmd)));
        break;
      case "DEL":
        this.#held.delete(cmd.key);
        break;
    }
    return ok;
  }
}
