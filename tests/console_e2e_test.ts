/**
 * The real console (`console/main.ts`) in a pseudo-terminal: tmux runs it in
 * an 80×24 window against a daemon's `/console` stream, and the test reads
 * the window (`tmux capture-pane`) and types into it (`tmux send-keys`): the
 * tasks are on the screen, keys sort, open the details and switch views,
 * the daemon going away shows "disconnected" and coming back reconnects, and
 * `q` exits 0 with the terminal given back (the alternate screen left).
 *
 * Last, the same against the real echo daemon (`examples/echo.ts --console`, both ports picked by
 * the kernel and read from its output): its accept loop and one `echo` task per connection are on
 * the screen while clients come and go.
 * `DOKIO_CONSOLE_CAPTURE=path` saves that screen (the README's capture comes from it).
 *
 * Needs `tmux` (Debian's package): skipped naming it when missing, failed
 * instead under DOKIO_CI=1.
 */

import assert from "node:assert/strict";
import { ignoreWithout, missingPrograms } from "./tool_helpers.ts";
import { startFakeDaemon } from "./console_fake_daemon.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const ignore = ignoreWithout("console end-to-end tests in tmux", missingPrograms(["tmux"]));

/** Generous: the machine is shared and loaded; a pass usually takes a second or two. */
const WAIT_MS = 40_000;
const POLL_MS = 150;

/** One private tmux server (its own socket), so nothing else's sessions are touched. */
class Tmux {
  readonly socket = `dokio-console-test-${Deno.pid}-${Math.random().toString(36).slice(2, 8)}`;

  async run(...args: string[]): Promise<string> {
    const out = await new Deno.Command("tmux", {
      args: ["-L", this.socket, ...args],
      stdout: "piped",
      stderr: "piped",
    })
      .output();
    if (!out.success) throw new Error(`tmux ${args[0]}: ${new TextDecoder().decode(out.stderr)}`);
    return new TextDecoder().decode(out.stdout);
  }

  /** Starts `command` in a detached 80×24 window, in the repository's folder. */
  start(command: string): Promise<string> {
    return this.run("new-session", "-d", "-x", "80", "-y", "24", "-c", ROOT, command);
  }

  /** The window's text (`escapes`: with its SGR attributes). */
  pane(escapes = false): Promise<string> {
    return this.run("capture-pane", "-p", ...(escapes ? ["-e"] : []));
  }

  keys(...keys: string[]): Promise<string> {
    return this.run("send-keys", ...keys);
  }

  /** Waits until the window's text matches; fails with the last screen. */
  async waitFor(re: RegExp, what: string): Promise<string> {
    const end = Date.now() + WAIT_MS;
    let screen = "";
    while (Date.now() < end) {
      screen = await this.pane();
      if (re.test(screen)) return screen;
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
    throw new Error(`timed out waiting for ${what} (${re}); the screen:\n${screen}`);
  }

  async kill(): Promise<void> {
    await this.run("kill-server").catch(() => "");
  }
}

/**
 * Prints the tty's canonical-mode flag after the console exits: `icanon` cooked, `-icanon` raw
 * (Deno also resets the mode when its process ends; `restore()` does it before the shell is back).
 */
const TTY_MODE = "stty -a | tr ' ;' '\\n\\n' | grep -x -e icanon -e -icanon";

/** Asserts the window's terminal is as the console found it: main screen, cursor shown, cooked input. */
async function assertRestored(tmux: Tmux, after: string): Promise<void> {
  assert.doesNotMatch(after, /dokio console/, "the console's screen is gone");
  const flags = await tmux.run("display-message", "-p", "#{alternate_on} #{cursor_flag}");
  assert.equal(flags.trim(), "0 1", "main screen, cursor visible");
}

/**
 * The console as users start it (`deno task console`, with the task's permissions), colour
 * allowed whatever the test's environment says.
 */
function consoleCommand(addr: string): string {
  return `env -u NO_COLOR TERM=xterm-256color ${Deno.execPath()} task console ${addr}` +
    `; echo CONSOLE-EXIT $?; ${TTY_MODE}; sleep 600`;
}

Deno.test({
  name:
    "console e2e: the real console in tmux 80x24 draws a daemon's tasks, obeys keys, reconnects, quits cleanly",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    let daemon = startFakeDaemon(200);
    const port = daemon.port;
    const tmux = new Tmux();
    try {
      await tmux.start(consoleCommand(`127.0.0.1:${port}`));
      const first = await tmux.waitFor(/ticker/, "the ticker task");
      assert.match(first, /dokio console connected 127\.0\.0\.1:\d+ +pid 4242/);
      assert.match(first, /accept loop +idle/);
      for (const line of first.split("\n")) {
        assert.ok(line.length <= 80, `a row wider than 80: ${line}`);
      }
      assert.ok((await tmux.pane(true)).includes("\x1b["), "colour on a colour terminal");

      // The ticker's polls count up: rows are redrawn as snapshots arrive.
      const polls = Number(/ticker +sched +0 +(\d+)/.exec(first)![1]);
      await tmux.waitFor(
        new RegExp(`ticker +sched +0 +(?!${polls} )\\d+`),
        "the ticker's polls to change",
      );

      await tmux.keys("s", "s", "s");
      const byName = await tmux.waitFor(/sort name asc/, "sort by name");
      const order = [...byName.matchAll(/^[> ] +(\d+) /gm)].map((m) => Number(m[1]));
      assert.deepEqual(order, [1, 2, 3, 4, 5]);

      await tmux.keys("g", "j", "j", "j", "Enter");
      const detail = await tmux.waitFor(/poll times/, "the detail view");
      assert.match(detail, /task 4 ticker/);
      assert.match(detail, /p50 2\.00us +p90 4\.00us +p99 7\.00us/);
      assert.match(detail, /<=1\.00us \|#+ *\| 4/);

      await tmux.keys("Escape");
      await tmux.waitFor(/ID NAME +STATE/, "back to the list");
      await tmux.keys("w");
      await tmux.waitFor(/self-wake-loop +4 ticker/, "the warnings view");
      await tmux.keys("r");
      await tmux.waitFor(/semaphore +limit +3 0\/64 permits/, "the resources view");

      await daemon.close();
      await tmux.waitFor(/dokio console disconnected[\s\S]*error: .*retrying in/, "disconnected");
      daemon = startFakeDaemon(200, port);
      await tmux.waitFor(/dokio console connected/, "reconnected");

      await tmux.keys("q");
      const after = await tmux.waitFor(/CONSOLE-EXIT \d+\n-?icanon/, "the console to exit");
      assert.match(after, /CONSOLE-EXIT 0\nicanon/, "exit 0, the tty back in cooked mode");
      await assertRestored(tmux, after);
    } finally {
      await tmux.kill();
      await daemon.close();
    }
  },
});

Deno.test({
  name: "console e2e: a broken stream (bad JSON, an over-long line) is a status note, not a crash",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const daemon = startFakeDaemon(300);
    const tmux = new Tmux();
    try {
      await tmux.start(
        `env TERM=dumb NO_COLOR=1 ${Deno.execPath()} run -A console/main.ts 127.0.0.1:${daemon.port} --max-line 100000` +
          `; echo CONSOLE-EXIT $?; sleep 600`,
      );
      await tmux.waitFor(/ticker/, "the first frame");
      daemon.sendRaw("{not json\n");
      await tmux.waitFor(/note: bad JSON line/, "the bad-line note");
      daemon.sendRaw("x".repeat(300_000) + "\n");
      await tmux.waitFor(/note: a line over 100000 bytes was dropped/, "the dropped-line note");
      assert.ok(!(await tmux.pane(true)).includes("\x1b["), "TERM=dumb: no colour");
      await tmux.waitFor(/ticker/, "frames go on");
      await tmux.keys("C-c");
      await tmux.waitFor(/CONSOLE-EXIT 0/, "a clean exit");
    } finally {
      await tmux.kill();
      await daemon.close();
    }
  },
});

/** The pid of the process the window's shell started (the console). */
async function consolePid(tmux: Tmux): Promise<number> {
  const shell = Number((await tmux.run("list-panes", "-F", "#{pane_pid}")).trim());
  const children = Deno.readTextFileSync(`/proc/${shell}/task/${shell}/children`).trim().split(
    /\s+/,
  );
  assert.equal(children.length, 1, `one child of the pane's shell: ${children}`);
  return Number(children[0]);
}

Deno.test({
  name: "console e2e: a resized window is redrawn to its new size; SIGTERM gives the terminal back",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const daemon = startFakeDaemon(200);
    const tmux = new Tmux();
    try {
      await tmux.start(
        `env -u NO_COLOR TERM=xterm-256color ${Deno.execPath()} run -A console/main.ts 127.0.0.1:${daemon.port}` +
          `; echo CONSOLE-EXIT $?; ${TTY_MODE}; sleep 600`,
      );
      const small = await tmux.waitFor(/ticker/, "the first frame");
      assert.match(small, /~o\.ts:88:5/, "80 columns: the site is cut");
      await tmux.run("resize-window", "-x", "120", "-y", "30");
      const big = await tmux.waitFor(/ examples\/echo\.ts:88:5/, "the wider frame");
      assert.equal(big.split("\n").filter((l) => l !== "").length <= 30, true);
      assert.match(big, /conn 127\.0\.0\.1:50001 /, "names no longer cut");
      Deno.kill(await consolePid(tmux), "SIGTERM");
      const after = await tmux.waitFor(/CONSOLE-EXIT \d+\n-?icanon/, "the console to exit");
      assert.match(after, /CONSOLE-EXIT 0\nicanon/, "exit 0, the tty back in cooked mode");
      await assertRestored(tmux, after);
    } finally {
      await tmux.kill();
      await daemon.close();
    }
  },
});

/** Reads a child's stdout until a line matches, within the wait deadline. */
async function waitForLine(child: Deno.ChildProcess, re: RegExp): Promise<string> {
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  const timer = setTimeout(() => reader.cancel(), WAIT_MS);
  try {
    while (!re.test(seen)) {
      const { done, value } = await reader.read();
      if (done) throw new Error(`the daemon's output ended before ${re}:\n${seen}`);
      seen += value;
    }
    return seen;
  } finally {
    clearTimeout(timer);
    reader.releaseLock();
  }
}

/** Opens an echo connection and checks one round trip. */
async function echoClient(port: number): Promise<Deno.TcpConn> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(new TextEncoder().encode("ping\n"));
  const buf = new Uint8Array(5);
  let got = 0;
  while (got < buf.length) got += (await conn.read(buf.subarray(got))) ?? buf.length;
  assert.equal(new TextDecoder().decode(buf), "ping\n");
  return conn;
}

/** Rows of the task list whose task waits on `leaf`. */
function waitingOn(screen: string, leaf: string): number {
  return screen.split("\n").filter((l) => /^[> ] +\d+ /.test(l) && new RegExp(` ${leaf} `).test(l))
    .length;
}

Deno.test({
  name:
    "console e2e: the real console against examples/echo.ts --console shows its accept loop and connections",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const echo = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "examples/echo.ts",
        "--port",
        "0",
        "--console",
        "--console-addr",
        "127.0.0.1:0",
      ],
      cwd: ROOT,
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const tmux = new Tmux();
    const clients: Deno.TcpConn[] = [];
    try {
      const said = await waitForLine(echo, /listening on [^\n]*:\d+\n/);
      const echoPort = Number(/listening on [^\n]*:(\d+)\n/.exec(said)![1]);
      const metricsAddr = /console: deno task console (\S+)/.exec(said)![1];
      for (let i = 0; i < 3; i++) clients.push(await echoClient(echoPort));
      await tmux.start(consoleCommand(metricsAddr));
      const screen = await tmux.waitFor(
        /io in flight: accept 1 +recv 3/,
        "the daemon's accept and 3 reads",
      );
      assert.match(screen, /dokio console connected/);
      assert.equal(waitingOn(screen, "accept"), 1, "one accept loop");
      assert.ok(waitingOn(screen, "recv") >= 3, "a task per connection, waiting in recv");
      assert.ok((screen.match(/^[> ] +\d+ echo +idle .* recv /gm) ?? []).length >= 3, "named echo");
      assert.match(
        screen,
        /[a-z_]\.ts:\d+:\d+ *$/m,
        "spawn sites in the daemon's files",
      );
      for (const line of screen.split("\n")) assert.ok(line.length <= 80);

      clients.pop()!.close();
      await tmux.waitFor(/io in flight: accept 1 +recv 2\b/, "a connection gone");
      clients.push(await echoClient(echoPort), await echoClient(echoPort));
      const busier = await tmux.waitFor(/io in flight: accept 1 +recv 4\b/, "two connections more");

      await tmux.keys("s", "s", "s", "s", "g"); // sort by id: the first task is the first spawned
      await tmux.waitFor(/sort id asc/, "sort by id");
      await tmux.keys("Enter");
      const detail = await tmux.waitFor(
        /poll times +n \d+ +p50/,
        "a task's detail with its histogram",
      );
      assert.match(detail, /polls +\d+ +waiting on/);
      assert.match(detail, /spawn site +examples\/\S+\.ts:\d+:\d+/, "the whole site in the detail");
      assert.match(detail, /\|#+ *\| \d+/, "histogram bars");
      const capture = Deno.env.get("DOKIO_CONSOLE_CAPTURE");
      if (capture) Deno.writeTextFileSync(capture, `${busier}\n${detail}`);
      await tmux.keys("q");
      await tmux.waitFor(/CONSOLE-EXIT 0/, "the console to exit");
    } finally {
      for (const c of clients) c.close();
      await tmux.kill();
      try {
        echo.kill("SIGTERM");
      } catch { /* already gone */ }
      await echo.stdout.cancel().catch(() => {});
      await echo.status;
    }
  },
});
