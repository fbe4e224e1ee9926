/**
 * `deno task fuzz:parsers [seconds]`: the parser fuzz tests
 * (tests/fuzz_*_test.ts) in long mode — each target runs `seconds`
 * (default 60) with a fresh random seed per iteration, and prints how many
 * iterations it ran. A failure prints the `DOKIO_FUZZ_REPLAY` seed of the
 * case. CI runs the same tests with their fixed seed and iteration count
 * (`deno task test`).
 *
 * @module
 */

const seconds = Number(Deno.args[0] ?? "60");
if (!(seconds > 0)) {
  console.error(`usage: deno task fuzz:parsers [seconds per target], got "${Deno.args[0]}"`);
  Deno.exit(2);
}
const dir = new URL(".", import.meta.url).pathname;
const files = [...Deno.readDirSync(dir)]
  .map((e) => e.name)
  .filter((n) => /^fuzz_.*_test\.ts$/.test(n))
  .sort()
  .map((n) => `${dir}${n}`);
const { code } = await new Deno.Command(Deno.execPath(), {
  args: ["test", "-A", ...files],
  env: { DOKIO_FUZZ_SECONDS: String(seconds) },
  stdout: "inherit",
  stderr: "inherit",
}).output();
Deno.exit(code);
