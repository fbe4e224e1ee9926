/**
 * Test helper run as a Worker by tests/ffi_test.ts: it opens the same reactor
 * library (same file, so the same process-global handle table), waits
 * `delayMs`, calls `dk_wake(handle)` and posts the result back. It posts
 * "ready" once loaded, so the test's clock starts after module compilation.
 *
 * @module
 */

interface WakeRequest {
  path: string;
  handle: number;
  delayMs: number;
}

const scope = self as unknown as {
  onmessage: ((e: MessageEvent<WakeRequest>) => void) | null;
  postMessage(v: unknown): void;
  close(): void;
};

scope.onmessage = (e: MessageEvent<WakeRequest>) => {
  const { path, handle, delayMs } = e.data;
  const lib = Deno.dlopen(path, { dk_wake: { parameters: ["i32"], result: "i32" } });
  setTimeout(() => {
    const r = lib.symbols.dk_wake(handle);
    lib.close();
    scope.postMessage(r);
  }, delayMs);
};
scope.postMessage("ready");
