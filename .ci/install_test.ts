/**
 * CI install test: `deno run -A .ci/install_test.ts`. Installs the package as a user would, on a
 * machine with only Deno:
 *
 * 1. A stand-in registry: a static server with what `deno publish --dry-run` would publish,
 *    under `@dokio/dokio/<version>/`, and the registry's meta files (`@dokio/dokio/meta.json`,
 *    `@dokio/dokio/<version>_meta.json` with each file's size and sha-256); `JSR_URL` points
 *    at it.
 * 2. A fresh temporary project, fresh `DENO_DIR` and `HOME`, and a `PATH` holding only `deno`
 *    (no cc, zig, clang or python): `deno add jsr:@dokio/dokio`, then a program importing
 *    `@dokio/dokio` binds a `TcpListener`, spawns a client task and checks an echo round trip,
 *    run with the smallest permissions the README documents.
 * 3. A fresh clone of this checkout: `deno task echo --port 0` on the same `PATH`, then a line
 *    sent over TCP must come back, and SIGTERM must end it with status 0.
 * 4. In that clone, the first step of `deno task test` (`ffi/build_cli.ts`) on the same `PATH`
 *    must exit 0 saying it uses the shipped library, then a few suites that need other programs
 *    (a C compiler, `nm`, `redis-cli`) must pass with those tests skipped, each skip named on
 *    one line; with `DOKIO_CI=1` the same run must fail, naming what is missing.
 *
 * Prints what it measured (package size, time from `deno add` to the first echo) and exits 1
 * on the first failure.
 *
 * @module
 */

import config from "../deno.json" with { type: "json" };
import { publishedFiles } from "./package_check.ts";

const ROOT = decodeURIComponent(new URL("../", import.meta.url).pathname);
const VERSION = (config as { version: string }).version;
const [SCOPE, NAME] = (config as { name: string }).name.slice(1).split("/");

async function sha256(bytes: Uint8Array): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>));
  return Array.from(d, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The registry's files: URL path → bytes. */
async function registryFiles(): Promise<{ files: Map<string, Uint8Array>; size: number }> {
  const files = new Map<string, Uint8Array>();
  const manifest: Record<string, { size: number; checksum: string }> = {};
  let size = 0;
  for (const f of await publishedFiles()) {
    const bytes = await Deno.readFile(`${ROOT}${f.path}`);
    files.set(`/@${SCOPE}/${NAME}/${VERSION}/${f.path}`, bytes);
    manifest[`/${f.path}`] = { size: bytes.byteLength, checksum: `sha256-${await sha256(bytes)}` };
    size += bytes.byteLength;
  }
  const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
  files.set(
    `/@${SCOPE}/${NAME}/meta.json`,
    json({ scope: SCOPE, name: NAME, latest: VERSION, versions: { [VERSION]: {} } }),
  );
  files.set(
    `/@${SCOPE}/${NAME}/${VERSION}_meta.json`,
    json({ manifest, exports: (config as { exports: Record<string, string> }).exports }),
  );
  return { files, size };
}

/** A directory whose only entry is `deno`: no compiler can be found through it. */
async function denoOnlyPath(base: string): Promise<string> {
  const dir = `${base}/bin`;
  await Deno.mkdir(dir);
  await Deno.symlink(Deno.execPath(), `${dir}/deno`);
  return dir;
}

async function run(
  args: string[],
  cwd: string,
  env: Record<string, string>,
  expect: "success" | "failure" = "success",
): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    cwd,
    env,
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (out.success !== (expect === "success")) {
    throw new Error(
      `deno ${args.join(" ")} ${out.success ? "passed" : "failed"} in ${cwd}:\n${text}`,
    );
  }
  return text;
}

const PROGRAM = `import { run, spawn, TcpListener, TcpStream } from "@dokio/dokio";

const got = await run(function* () {
  using listener = yield* TcpListener.bind({ hostname: "127.0.0.1", port: 0 });
  const port = listener.localAddr.port;
  const client = spawn(function* () {
    using conn = yield* TcpStream.connect({ hostname: "127.0.0.1", port });
    yield* conn.writeAll(new TextEncoder().encode("ping"));
    const buf = new Uint8Array(4);
    yield* conn.readExact(buf);
    return new TextDecoder().decode(buf);
  });
  using peer = yield* listener.accept();
  const buf = new Uint8Array(4);
  yield* peer.readExact(buf);
  yield* peer.writeAll(buf);
  return yield* client;
});
if (got !== "ping") throw new Error("echo round trip returned " + JSON.stringify(got));
console.log("echo ok");
`;

async function installFromRegistry(base: string, path: string): Promise<void> {
  const { files, size } = await registryFiles();
  const served = new Set<string>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const path = new URL(req.url).pathname;
    served.add(path);
    const body = files.get(path);
    return body === undefined
      ? new Response("not found", { status: 404 })
      : new Response(body as Uint8Array<ArrayBuffer>);
  });
  try {
    const project = `${base}/project`;
    const home = `${base}/home`;
    await Deno.mkdir(project);
    await Deno.mkdir(home);
    const env = {
      PATH: path,
      HOME: home,
      DENO_DIR: `${base}/deno_dir`,
      JSR_URL: `http://127.0.0.1:${server.addr.port}/`,
      NO_COLOR: "1",
    };
    await Deno.writeTextFile(`${project}/main.ts`, PROGRAM);
    const t0 = performance.now();
    await run(["add", `jsr:@${SCOPE}/${NAME}`], project, env);
    const added = performance.now();
    const cache = `${home}/.cache/dokio`;
    const out = await run(
      [
        "run",
        "--allow-ffi",
        `--allow-read=${cache}`,
        `--allow-write=${cache}`,
        "--allow-env=HOME,XDG_CACHE_HOME,DOKIO_CACHE,DOKIO_LIB,DOKIO_BACKEND,DOKIO_CLOCK",
        "main.ts",
      ],
      project,
      env,
    );
    if (!out.includes("echo ok")) throw new Error(`the installed program said:\n${out}`);
    const done = performance.now();
    console.log(
      `install test: registry package ${files.size - 2} files, ${(size / 1024).toFixed(1)} KiB; ` +
        `deno add ${(added - t0).toFixed(0)} ms, then first echo ${(done - added).toFixed(0)} ms ` +
        `(deno add to first echo ${(done - t0).toFixed(0)} ms); downloaded ${served.size} files, ` +
        `prebuilt modules: ${[...served].filter((p) => p.includes("/prebuilt/")).join(", ")}`,
    );
  } finally {
    await server.shutdown();
  }
}

async function cloneEcho(base: string, path: string): Promise<void> {
  const clone = `${base}/clone`;
  const home = `${base}/clone_home`;
  const t0 = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["task", "echo", "--port", "0", "--drain-ms", "100"],
    cwd: clone,
    env: { PATH: path, HOME: home, DENO_DIR: `${base}/clone_deno_dir`, NO_COLOR: "1" },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const text: string[] = [];
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no port within 60 s:\n${text.join("")}`)),
      60_000,
    );
    const pump = async (s: ReadableStream<Uint8Array>) => {
      for await (const chunk of s.pipeThrough(new TextDecoderStream())) {
        text.push(chunk);
        const m = /listening on [^\s]*:(\d+)/.exec(text.join(""));
        if (m !== null) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      }
    };
    pump(child.stdout);
    pump(child.stderr);
    child.status.then((s) => reject(new Error(`echo exited ${s.code}:\n${text.join("")}`)));
  });
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    const line = new TextEncoder().encode("hello from the install test\n");
    await conn.write(line);
    const got = new Uint8Array(line.length);
    let n = 0;
    while (n < got.length) {
      const r = await conn.read(got.subarray(n));
      if (r === null) break;
      n += r;
    }
    conn.close();
    if (new TextDecoder().decode(got) !== new TextDecoder().decode(line)) {
      throw new Error(`the clone's echo returned ${JSON.stringify(new TextDecoder().decode(got))}`);
    }
    console.log(
      `install test: a fresh clone's deno task echo answered in ${
        (performance.now() - t0).toFixed(0)
      } ms from start`,
    );
  } finally {
    child.kill("SIGTERM");
  }
  const status = await child.status;
  if (status.code !== 0) {
    throw new Error(`echo exited ${status.code} on SIGTERM:\n${text.join("")}`);
  }
}

/** Suites that need programs a machine with only Deno lacks (the clock needs the library). */
const TOOL_SUITES = [
  "tests/c_reactor_test.ts",
  "tests/redis_cli_test.ts",
  "tests/native_clock_test.ts",
];
/** The lines that name what those suites skip. */
const SKIP_LINES = [
  /skipped the C reactor tests: a C compiler .* not found on PATH/,
  /skipped the redis-cli tests: redis-cli not found on PATH/,
];

async function cloneTests(base: string, path: string): Promise<void> {
  const clone = `${base}/clone`;
  const env = {
    PATH: path,
    HOME: `${base}/clone_home`,
    DENO_DIR: `${base}/clone_deno_dir`,
    NO_COLOR: "1",
  };
  const t0 = performance.now();
  const built = await run(["run", "-A", "ffi/build_cli.ts"], clone, env);
  if (!/no C compiler .* nothing was built: using the shipped prebuilt library/.test(built)) {
    throw new Error(`the build step with only deno said:\n${built}`);
  }
  if (built.trim().split("\n").length !== 1) throw new Error(`more than one line:\n${built}`);
  const suites = TOOL_SUITES;
  const out = await run(["test", "-A", ...suites], clone, env);
  for (const line of SKIP_LINES) {
    if (!line.test(out)) throw new Error(`no line matching ${line}:\n${out}`);
  }
  if (!/ignored/.test(out)) throw new Error(`nothing was skipped:\n${out}`);
  const ci = await run(["test", "-A", ...suites], clone, { ...env, DOKIO_CI: "1" }, "failure");
  if (!/redis-cli not found on PATH; CI \(DOKIO_CI=1\) runs every suite/.test(ci)) {
    throw new Error(`with DOKIO_CI=1 the missing redis-cli was not named:\n${ci}`);
  }
  console.log(
    `install test: a fresh clone with only deno: build step exit 0 (shipped library), ` +
      `${suites.length} suites pass with the tests that need other programs skipped, and fail ` +
      `under DOKIO_CI=1 (${(performance.now() - t0).toFixed(0)} ms)`,
  );
}

if (import.meta.main) {
  const base = await Deno.makeTempDir({ prefix: "dokio-install-" });
  try {
    const path = await denoOnlyPath(base);
    await installFromRegistry(base, path);
    const git = await new Deno.Command("git", {
      args: ["clone", "-q", ROOT, `${base}/clone`],
    }).output();
    if (!git.success) throw new Error(`git clone failed: ${new TextDecoder().decode(git.stderr)}`);
    await Deno.mkdir(`${base}/clone_home`);
    await cloneEcho(base, path);
    await cloneTests(base, path);
    console.log("install test: ok");
  } catch (e) {
    console.log(`install test: FAILED: ${e instanceof Error ? e.message : String(e)}`);
    Deno.exitCode = 1;
  } finally {
    await Deno.remove(base, { recursive: true }).catch(() => {});
  }
}
