/**
 * stdin()/stdout(): a child process reads lines fed through a pipe with
 * BufReader(stdin()).lines() inside a task, beside a timer and sockets,
 * and writes them back through BufWriter(stdout()).
 */

import assert from "node:assert/strict";

const FIXTURE = new URL("./fixtures/io_stdin_lines.ts", import.meta.url).pathname;

for (const backend of ["epoll", "io_uring"]) {
  Deno.test(`stdin lines from a pipe, fed slowly, beside sockets and timers [${backend}]`, async () => {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", FIXTURE],
      env: { DOKIO_BACKEND: backend },
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const w = child.stdin.getWriter();
    const enc = new TextEncoder();
    const sent = ["first", "", "third with spaces", "crlf", "é€😀"];
    await w.write(enc.encode("first\n\nthird "));
    await new Promise((r) => setTimeout(r, 50)); // the child waits mid-line
    await w.write(enc.encode("with spaces\ncrlf\r\n"));
    await new Promise((r) => setTimeout(r, 20));
    await w.write(enc.encode("é€😀")); // the last line has no \n
    await w.close();
    const out = await child.output();
    const text = new TextDecoder().decode(out.stdout);
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    const want = sent.map((l, i) => `${i + 1}: ${l}`).join("\n") + "\ndone 5 ticks>0 echo ok\n";
    assert.equal(text, want);
  });
}
