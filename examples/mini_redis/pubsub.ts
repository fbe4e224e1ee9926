/**
 * The pub/sub hub: one broadcast channel per channel name and per pattern,
 * carrying frames encoded once per publish.
 *
 * Invariants: a name's broadcast channel exists while it has a receiver
 * (the last receiver's `release` removes it); a channel keeps at most
 * `capacity` messages, so a subscriber that falls further behind gets a
 * `LaggedError` instead of growing memory.
 *
 * @module
 */

import { broadcast, type BroadcastReceiver, type BroadcastSender } from "../../sync/mod.ts";
import { globMatch, messageFrame } from "./commands.ts";

/** Messages a channel keeps for its slowest subscriber. */
export const DEFAULT_CHANNEL_CAPACITY = 1024;

/** Channels and patterns of one server. */
export class Hub {
  readonly #channels = new Map<string, BroadcastSender<Uint8Array>>();
  readonly #patterns = new Map<string, BroadcastSender<Uint8Array>>();
  readonly #capacity: number;

  /** @param capacity messages kept per channel (the lag limit) */
  constructor(capacity = DEFAULT_CHANNEL_CAPACITY) {
    this.#capacity = capacity;
  }

  /** A receiver of `name` (a channel, or a pattern when `pattern`). */
  subscribe(name: string, pattern: boolean): BroadcastReceiver<Uint8Array> {
    const map = pattern ? this.#patterns : this.#channels;
    const tx = map.get(name);
    if (tx !== undefined) return tx.subscribe();
    const [fresh, rx] = broadcast.channel<Uint8Array>(this.#capacity);
    map.set(name, fresh);
    return rx;
  }

  /** Close `rx` (a receiver of `name`); the channel goes with its last receiver. */
  release(name: string, pattern: boolean, rx: BroadcastReceiver<Uint8Array>): void {
    rx.close();
    const map = pattern ? this.#patterns : this.#channels;
    const tx = map.get(name);
    if (tx !== undefined && tx.receiverCount === 0) {
      tx.close();
      map.delete(name);
    }
  }

  /** Send `msg` to `channel`'s subscribers and matching patterns'; gives how many got it. */
  publish(channel: string, msg: Uint8Array): number {
    let n = 0;
    const tx = this.#channels.get(channel);
    if (tx !== undefined && tx.receiverCount > 0) n += tx.send(messageFrame(channel, msg, null));
    for (const [p, ptx] of this.#patterns) {
      if (ptx.receiverCount > 0 && globMatch(p, channel)) {
        n += ptx.send(messageFrame(channel, msg, p));
      }
    }
    return n;
  }

  /** Close every channel (at shutdown: subscribers see the end). */
  close(): void {
    for (const tx of this.#channels.values()) tx.close();
    for (const tx of this.#patterns.values()) tx.close();
    this.#channels.clear();
    this.#patterns.clear();
  }
}
