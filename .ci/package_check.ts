/**
 * CI check of what the package ships: `deno run -A .ci/package_check.ts`.
 *
 * - `deno publish --dry-run` succeeds (no slow types, no module excluded from the package);
 * - the files it would publish are all under the package's rooms and none is a test, a bench,
 *   an example or a build cache;
 * - the echo example's module graph pulls no npm package, and the package's own lockfile (if
 *   any) names none (the bench's npm peers live in `bench/deno.lock`).
 *
 * Prints one line per problem and exits 1 when there is any. `publishedFiles()` is also used
 * by the install test (`.ci/install_test.ts`) to build its stand-in registry.
 *
 * @module
 */

const ROOT = new URL("../", import.meta.url);
const ROOT_PATH = decodeURIComponent(ROOT.pathname);

/** Paths (relative to the repository root) a published file may have. */
const ALLOWED =
  /^(mod\.ts|README\.md|LICENSE|deno\.json|[a-z_]+\/[a-z0-9_/]+\.ts|reactor_c\/[a-z_]+\.(c|h|zig))$/;
/** Paths that must never ship. */
const FORBIDDEN = /(^|\/)(tests|bench|examples|\.dokio|\.zig-cache|zig-out|node_modules|\.ci)\//;

/** A file `deno publish` would upload, with its path relative to the root. */
export interface PublishedFile {
  /** Path relative to the repository root, `/`-separated. */
  path: string;
}

/**
 * The files `deno publish --dry-run` lists for this package.
 *
 * @throws {Error} when the dry run fails (its output is in the message).
 */
export async function publishedFiles(): Promise<PublishedFile[]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["publish", "--dry-run", "--allow-dirty"],
    cwd: ROOT_PATH,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`deno publish --dry-run failed:\n${text}`);
  const files: PublishedFile[] = [];
  const prefix = ROOT.href;
  for (const line of text.split("\n")) {
    const m = /^\s+(file:\/\/\S+) \([^)]*\)$/.exec(line);
    if (m === null || !m[1].startsWith(prefix)) continue;
    files.push({ path: decodeURIComponent(m[1].slice(prefix.length)) });
  }
  if (files.length === 0) throw new Error(`deno publish --dry-run listed no files:\n${text}`);
  return files;
}

async function npmInEchoGraph(): Promise<string[]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", "examples/echo.ts"],
    cwd: ROOT_PATH,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) return [`deno info examples/echo.ts failed`];
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    modules: { specifier: string }[];
    npmPackages?: Record<string, unknown>;
  };
  const npm = Object.keys(info.npmPackages ?? {});
  const remote = info.modules.map((m) => m.specifier).filter((s) =>
    !s.startsWith("file:") && !s.startsWith("node:")
  );
  return [...npm, ...remote];
}

async function lockfileNpm(): Promise<string[]> {
  try {
    const lock = JSON.parse(await Deno.readTextFile(`${ROOT_PATH}deno.lock`)) as {
      specifiers?: Record<string, string>;
    };
    return Object.keys(lock.specifiers ?? {}).filter((s) => s.startsWith("npm:"));
  } catch {
    return []; // no lockfile: nothing to pull
  }
}

if (import.meta.main) {
  const problems: string[] = [];
  let files: PublishedFile[] = [];
  try {
    files = await publishedFiles();
  } catch (e) {
    problems.push(e instanceof Error ? e.message : String(e));
  }
  for (const f of files) {
    if (FORBIDDEN.test(f.path)) problems.push(`ships what it must not: ${f.path}`);
    else if (!ALLOWED.test(f.path)) problems.push(`ships an unexpected file: ${f.path}`);
  }
  for (const s of await npmInEchoGraph()) problems.push(`deno task echo pulls ${s}`);
  for (const s of await lockfileNpm()) problems.push(`deno.lock pins ${s} (bench-only?)`);
  for (const p of problems) console.log(p);
  console.log(`package check: ${files.length} files, ${problems.length} problem(s)`);
  if (problems.length > 0) Deno.exit(1);
}
