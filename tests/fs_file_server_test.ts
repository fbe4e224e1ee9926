/**
 * The file server example as a person uses it: started as a child process
 * over a directory, files fetched with `fetch` come back byte for byte;
 * directories list or serve index.html; missing paths 404, `..` 403, POST
 * 405; SIGTERM stops it with exit code 0. On io_uring and epoll.
 *
 * @module
 */

import assert from "node:assert/strict";
import { startDaemon } from "./net_helpers.ts";
import { randomBytes, rng } from "./fs_helpers.ts";

const SERVER = new URL("../examples/file_server.ts", import.meta.url).pathname;

/** One raw HTTP/1.0 request; the status line and the body. */
async function raw(port: number, request: string): Promise<[string, string]> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(new TextEncoder().encode(request));
  const text = await new Response(conn.readable).text();
  const [head, ...body] = text.split("\r\n\r\n");
  return [head.split("\r\n")[0], body.join("\r\n\r\n")];
}

for (const backend of ["io_uring", "epoll"]) {
  Deno.test(`file server example serves a directory [${backend}]`, async () => {
    const dir = await Deno.makeTempDir();
    const big = randomBytes(rng(1), 1_000_003);
    await Deno.writeFile(`${dir}/big.bin`, big);
    await Deno.writeTextFile(`${dir}/hello.txt`, "hello\n");
    await Deno.mkdir(`${dir}/sub`);
    await Deno.writeTextFile(`${dir}/sub/a.md`, "# a\n");
    await Deno.mkdir(`${dir}/site`);
    await Deno.writeTextFile(`${dir}/site/index.html`, "<p>index</p>");
    const d = await startDaemon(SERVER, backend, ["--dir", dir], {
      listening: /serving .* on http:\/\/127\.0\.0\.1:(\d+)\//,
    });
    const url = `http://127.0.0.1:${d.port}`;
    try {
      const r = await fetch(`${url}/big.bin`);
      assert.equal(r.status, 200);
      assert.equal(r.headers.get("content-length"), String(big.length));
      assert.deepEqual(new Uint8Array(await r.arrayBuffer()), big);
      const h = await fetch(`${url}/hello.txt`);
      assert.equal(h.headers.get("content-type"), "text/plain; charset=utf-8");
      assert.equal(await h.text(), "hello\n");
      assert.equal(await (await fetch(`${url}/sub`)).text(), "/sub/a.md\n");
      assert.equal(await (await fetch(`${url}/site/`)).text(), "<p>index</p>");
      const missing = await fetch(`${url}/nope.txt`);
      assert.equal(missing.status, 404);
      await missing.body?.cancel();
      const post = await fetch(`${url}/hello.txt`, { method: "POST", body: "x" });
      assert.equal(post.status, 405);
      await post.body?.cancel();
      assert.deepEqual(await raw(d.port, "GET /../etc/passwd HTTP/1.0\r\n\r\n"), [
        "HTTP/1.0 403 Forbidden",
        "403 Forbidden\n",
      ]);
      assert.deepEqual(await raw(d.port, "HEAD /hello.txt HTTP/1.0\r\n\r\n"), [
        "HTTP/1.0 200 OK",
        "",
      ]);
      // Many at once.
      const all = await Promise.all(
        Array.from({ length: 50 }, () => fetch(`${url}/hello.txt`).then((x) => x.text())),
      );
      assert.ok(all.every((t) => t === "hello\n"));
    } finally {
      d.child.kill("SIGTERM");
      const status = await d.done;
      await d.lines;
      await Deno.remove(dir, { recursive: true });
      assert.equal(status.code, 0, d.out.join("\n"));
    }
  });
}
