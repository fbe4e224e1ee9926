/**
 * fs/ permission and access tests, in child processes:
 * - run with `--allow-read=<dir>` (and `--allow-write=<dir>`), Dokio reads and
 *   writes inside <dir> and is refused (`NotCapable`, as Deno is) outside it;
 * - run as root without CAP_DAC_OVERRIDE/CAP_DAC_READ_SEARCH (setpriv), a
 *   mode-000 file gives EACCES through Dokio as through Deno.
 * Each case runs on io_uring and epoll.
 */

import assert from "node:assert/strict";
import { ignoreWithout, missingPrograms } from "./tool_helpers.ts";

const BACKENDS = ["epoll", "io_uring"] as const;
const ROOT = decodeURIComponent(new URL("../", import.meta.url).pathname).replace(/\/$/, "");
const CHILD = `${ROOT}/tests/fixtures/fs_child.ts`;
const LIB_DIR = `${ROOT}/.dokio`;
// Dropping root's DAC override needs setpriv (util-linux); only root runs that test.
const noSetpriv = Deno.uid() === 0 &&
  ignoreWithout("the EACCES-as-root test", missingPrograms(["setpriv"]));

async function child(
  cmd: string[],
  backend: string,
  paths: string[],
): Promise<Record<string, Record<string, string>>> {
  const out = await new Deno.Command(cmd[0], {
    args: [...cmd.slice(1), ...paths],
    env: { DOKIO_BACKEND: backend },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assert.equal(out.code, 0, `child failed: ${new TextDecoder().decode(out.stderr)}`);
  return JSON.parse(text.trim().split("\n").pop()!);
}

for (const backend of BACKENDS) {
  Deno.test(`--allow-read=<dir>: Dokio reads inside, is refused outside, like Deno [${backend}]`, async () => {
    const dir = await Deno.makeTempDir();
    const outside = await Deno.makeTempDir();
    try {
      await Deno.writeTextFile(`${dir}/in.txt`, "inside");
      await Deno.writeTextFile(`${outside}/out.txt`, "outside");
      const res = await child(
        [
          Deno.execPath(),
          "run",
          "--no-prompt",
          "--allow-ffi",
          "--allow-env",
          `--allow-read=${dir},${ROOT}`,
          `--allow-write=${dir},${LIB_DIR}`,
          CHILD,
        ],
        backend,
        [`${dir}/in.txt`, `${outside}/out.txt`],
      );
      const inside = res[`${dir}/in.txt`];
      assert.deepEqual(inside, {
        dokioRead: "ok",
        denoRead: "ok",
        dokioOpen: "ok",
        dokioWrite: "ok",
        denoWrite: "ok",
        dokioOpenWrite: "ok",
      });
      const out = res[`${outside}/out.txt`];
      for (const [k, v] of Object.entries(out)) assert.equal(v, "NotCapable", `${k}: ${v}`);
      // Nothing was written outside.
      const names = [...Deno.readDirSync(outside)].map((e) => e.name);
      assert.deepEqual(names, ["out.txt"]);
    } finally {
      await Deno.remove(dir, { recursive: true });
      await Deno.remove(outside, { recursive: true });
    }
  });

  Deno.test({
    name: `EACCES on a mode-000 file without DAC override, like Deno [${backend}]`,
    ignore: Deno.uid() !== 0 || noSetpriv,
    fn: async () => {
      const dir = await Deno.makeTempDir();
      try {
        const locked = `${dir}/locked`;
        await Deno.writeTextFile(locked, "secret");
        await Deno.chmod(locked, 0);
        await Deno.chmod(dir, 0o555); // no new files here either
        const res = await child(
          [
            "setpriv",
            "--bounding-set=-dac_override,-dac_read_search",
            Deno.execPath(),
            "run",
            "-A",
            CHILD,
          ],
          backend,
          [locked],
        );
        const r = res[locked];
        assert.equal(r.denoRead, "PermissionDenied EACCES");
        assert.equal(r.dokioRead, "IoError EACCES");
        assert.equal(r.dokioOpen, "IoError EACCES");
        assert.equal(r.dokioWrite, "IoError EACCES");
        assert.equal(r.dokioOpenWrite, "IoError EACCES");
      } finally {
        await Deno.chmod(dir, 0o755);
        await Deno.remove(dir, { recursive: true });
      }
    },
  });
}
