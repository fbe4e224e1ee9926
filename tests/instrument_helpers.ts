/**
 * A strict parser of the Prometheus text exposition format (0.0.4), for the
 * instrumentation tests: metric and label name grammar, `# HELP`/`# TYPE`
 * before a family's samples and each family in one block, label escaping,
 * histogram buckets cumulative and ending with `le="+Inf"` equal to
 * `_count`. It throws on the first thing out of place.
 *
 * @module
 */

import assert from "node:assert/strict";

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(["counter", "gauge", "histogram", "summary", "untyped"]);

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}
export interface Family {
  name: string;
  type: string;
  help: string;
  samples: Sample[];
}

function parseValue(v: string, line: number): number {
  if (v === "+Inf") return Infinity;
  if (v === "-Inf") return -Infinity;
  if (v === "NaN") return NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(v)) {
    throw new Error(`line ${line}: bad value ${JSON.stringify(v)}`);
  }
  return Number(v);
}

/** Parse `{a="x",b="y\"z"}` starting at text[i] === "{"; returns labels and the index after "}". */
function parseLabels(text: string, i: number, line: number): [Record<string, string>, number] {
  const labels: Record<string, string> = {};
  i++; // {
  for (;;) {
    if (text[i] === "}") return [labels, i + 1];
    const eq = text.indexOf("=", i);
    if (eq < 0) throw new Error(`line ${line}: label without =`);
    const name = text.slice(i, eq);
    if (!LABEL_NAME.test(name)) throw new Error(`line ${line}: bad label name ${name}`);
    if (name in labels) throw new Error(`line ${line}: label ${name} twice`);
    i = eq + 1;
    if (text[i] !== '"') throw new Error(`line ${line}: label value not quoted`);
    i++;
    let v = "";
    for (;;) {
      const c = text[i];
      if (c === undefined) throw new Error(`line ${line}: unterminated label value`);
      if (c === "\n") throw new Error(`line ${line}: raw newline in a label value`);
      if (c === '"') break;
      if (c === "\\") {
        const e = text[i + 1];
        if (e === "\\") v += "\\";
        else if (e === '"') v += '"';
        else if (e === "n") v += "\n";
        else throw new Error(`line ${line}: bad escape \\${e}`);
        i += 2;
        continue;
      }
      v += c;
      i++;
    }
    labels[name] = v;
    i++; // closing quote
    if (text[i] === ",") i++;
    else if (text[i] !== "}") throw new Error(`line ${line}: expected , or } after a label`);
  }
}

/** The family a sample name belongs to (histogram suffixes stripped when declared so). */
function familyOf(name: string, families: Map<string, Family>): Family | undefined {
  for (const suffix of ["_bucket", "_sum", "_count"]) {
    if (name.endsWith(suffix)) {
      const f = families.get(name.slice(0, -suffix.length));
      if (f?.type === "histogram") return f;
    }
  }
  return families.get(name);
}

export function parseExposition(text: string): Map<string, Family> {
  assert.ok(text.endsWith("\n"), "the exposition ends with a newline");
  const families = new Map<string, Family>();
  const closed = new Set<string>();
  let current: Family | null = null;
  const lines = text.slice(0, -1).split("\n");
  lines.forEach((raw, idx) => {
    const line = idx + 1;
    if (raw === "") throw new Error(`line ${line}: empty line`);
    if (raw.startsWith("#")) {
      const m = /^# (HELP|TYPE) ([^ ]+) (.*)$/.exec(raw);
      if (m === null) throw new Error(`line ${line}: a comment that is not HELP/TYPE: ${raw}`);
      const [, kw, name, rest] = m;
      if (!METRIC_NAME.test(name)) throw new Error(`line ${line}: bad metric name ${name}`);
      if (closed.has(name)) throw new Error(`line ${line}: family ${name} appears twice`);
      let f = families.get(name);
      if (f === undefined) {
        if (current !== null && current.name !== name) closed.add(current.name);
        f = { name, type: "", help: "", samples: [] };
        families.set(name, f);
        current = f;
      }
      if (f.samples.length > 0) throw new Error(`line ${line}: ${kw} after ${name}'s samples`);
      if (kw === "TYPE") {
        if (f.type !== "") throw new Error(`line ${line}: second TYPE for ${name}`);
        if (!TYPES.has(rest)) throw new Error(`line ${line}: unknown type ${rest}`);
        f.type = rest;
      } else {
        if (f.help !== "") throw new Error(`line ${line}: second HELP for ${name}`);
        if (/\\[^\\n]/.test(rest.replace(/\\\\/g, ""))) {
          throw new Error(`line ${line}: bad HELP escape`);
        }
        f.help = rest;
      }
      return;
    }
    const nm = /^([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(raw);
    if (nm === null) throw new Error(`line ${line}: bad sample ${raw}`);
    const name = nm[1];
    let i = name.length;
    let labels: Record<string, string> = {};
    if (raw[i] === "{") [labels, i] = parseLabels(raw, i, line);
    if (raw[i] !== " ") throw new Error(`line ${line}: expected a space before the value`);
    const parts = raw.slice(i + 1).split(" ");
    if (parts.length > 2) throw new Error(`line ${line}: trailing text`);
    const value = parseValue(parts[0], line);
    if (parts.length === 2 && !/^-?\d+$/.test(parts[1])) throw new Error(`line ${line}: bad ts`);
    const f = familyOf(name, families);
    if (f === undefined || f.type === "") {
      throw new Error(`line ${line}: sample ${name} before its # TYPE`);
    }
    if (f !== current) throw new Error(`line ${line}: sample ${name} outside its family's block`);
    if (f.type === "histogram" && name === f.name) {
      throw new Error(`line ${line}: a histogram sample without _bucket/_sum/_count`);
    }
    if (f.type === "counter" && !(value >= 0)) throw new Error(`line ${line}: negative counter`);
    f.samples.push({ name, labels, value });
  });
  for (const f of families.values()) {
    if (f.type === "") throw new Error(`family ${f.name} has no TYPE`);
    if (f.type === "histogram") checkHistogram(f);
  }
  return families;
}

function seriesKey(labels: Record<string, string>, without: string): string {
  return JSON.stringify(
    Object.keys(labels).filter((k) => k !== without).sort().map((k) => [
      k,
      labels[k],
    ]),
  );
}

function checkHistogram(f: Family): void {
  const bySeries = new Map<string, { buckets: [number, number][]; sum?: number; count?: number }>();
  const get = (k: string) => {
    let s = bySeries.get(k);
    if (s === undefined) bySeries.set(k, s = { buckets: [] });
    return s;
  };
  for (const s of f.samples) {
    if (s.name === f.name + "_bucket") {
      assert.ok("le" in s.labels, `${f.name}: a bucket without le`);
      get(seriesKey(s.labels, "le")).buckets.push([parseValue(s.labels.le, 0), s.value]);
    } else if (s.name === f.name + "_sum") get(seriesKey(s.labels, "")).sum = s.value;
    else if (s.name === f.name + "_count") get(seriesKey(s.labels, "")).count = s.value;
  }
  assert.ok(bySeries.size > 0, `${f.name}: no series`);
  for (const [k, s] of bySeries) {
    assert.ok(s.buckets.length > 0, `${f.name}${k}: no buckets`);
    for (let i = 1; i < s.buckets.length; i++) {
      assert.ok(s.buckets[i][0] > s.buckets[i - 1][0], `${f.name}${k}: le not increasing`);
      assert.ok(s.buckets[i][1] >= s.buckets[i - 1][1], `${f.name}${k}: buckets not cumulative`);
    }
    const last = s.buckets[s.buckets.length - 1];
    assert.equal(last[0], Infinity, `${f.name}${k}: the last bucket is not le="+Inf"`);
    assert.equal(s.count, last[1], `${f.name}${k}: _count differs from the +Inf bucket`);
    assert.ok(s.sum !== undefined && s.sum >= 0, `${f.name}${k}: _sum missing`);
  }
}

export function value(
  fams: Map<string, Family>,
  name: string,
  labels: Record<string, string>,
): number {
  const f = familyOf(name, fams);
  assert.ok(f, `family of ${name}`);
  const s = f.samples.find((s) =>
    s.name === name && seriesKey(s.labels, "") === seriesKey(labels, "")
  );
  assert.ok(s, `${name}${JSON.stringify(labels)}`);
  return s.value;
}
