/**
 * Raw terminal input → key names the reducer understands. Arrows,
 * PageUp/PageDown, Home/End and Shift-Tab come as escape sequences (both the
 * `ESC [` and the application-mode `ESC O` forms); Enter as CR or LF;
 * Backspace as DEL or BS; Ctrl-C as ETX (raw mode delivers it as a byte).
 * An unknown escape sequence is skipped whole; a lone ESC is Escape.
 *
 * @module
 */

const ESC = 0x1b;
const CSI_OPEN = 0x5b; // [
const SS3_OPEN = 0x4f; // O

const CONTROL_KEYS: Record<number, string> = {
  0x03: "ctrl-c",
  0x08: "backspace",
  0x09: "tab",
  0x0a: "enter",
  0x0c: "ctrl-l",
  0x0d: "enter",
  0x7f: "backspace",
};

/** Final parts of `ESC [ …` and `ESC O …` sequences. */
const SEQUENCES: Record<string, string> = {
  A: "up",
  B: "down",
  C: "right",
  D: "left",
  H: "home",
  F: "end",
  Z: "shift-tab",
  "1~": "home",
  "4~": "end",
  "5~": "pageup",
  "6~": "pagedown",
  "7~": "home",
  "8~": "end",
};

/** CSI parameter and intermediate bytes run 0x20–0x3f; its final byte is 0x40–0x7e. */
function isFinalByte(b: number): boolean {
  return b >= 0x40 && b <= 0x7e;
}

/**
 * The keys in one read from a raw-mode terminal.
 *
 * @param bytes what the read returned
 * @returns key names (`up`, `enter`, `escape`, `ctrl-c`, …) and printable characters as themselves
 */
export function decodeKeys(bytes: Uint8Array): string[] {
  const keys: string[] = [];
  const utf8 = new TextDecoder();
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i];
    if (b === ESC) {
      const open = bytes[i + 1];
      if (open !== CSI_OPEN && open !== SS3_OPEN) {
        keys.push("escape");
        i++;
        continue;
      }
      let j = i + 2;
      while (j < bytes.length && !isFinalByte(bytes[j])) j++;
      const body = String.fromCharCode(...bytes.subarray(i + 2, Math.min(j + 1, bytes.length)));
      const name = SEQUENCES[body];
      if (name) keys.push(name);
      i = j + 1;
      continue;
    }
    if (CONTROL_KEYS[b]) {
      keys.push(CONTROL_KEYS[b]);
      i++;
      continue;
    }
    if (b < 0x20) {
      i++;
      continue;
    }
    // A printable character (possibly multi-byte UTF-8): take it whole.
    let len = 1;
    if (b >= 0xf0) len = 4;
    else if (b >= 0xe0) len = 3;
    else if (b >= 0xc0) len = 2;
    keys.push(utf8.decode(bytes.subarray(i, i + len)));
    i += len;
  }
  return keys;
}
