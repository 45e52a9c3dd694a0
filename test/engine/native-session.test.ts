/**
 * onnxruntime's C API through koffi (engine/runtime/ort/): the function table is the one the shipped
 * library serves, errors come back in onnxruntime's words, and tensors bound once are read and
 * written in place across runs.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DataType, GraphBuilder } from "../../engine/onnx/graph-builder.ts";
import { check, OrtError, ortLibrary } from "../../engine/runtime/ort/c-api.ts";
import { NativeSession } from "../../engine/runtime/ort/native-session.ts";

let dir: string;
let addOne: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "elmwood-native-"));
  // y = x + 1, with x int64 [n] (the shape of token ids) and y float [n] through a Cast.
  const g = new GraphBuilder("add_one");
  const x = g.input({ name: "x", dataType: DataType.INT64, shape: ["n"] });
  const one = g.int64s("one", [1], []);
  const [sum] = g.node({ name: "add", op: "Add", inputs: [x, one], outputs: ["sum"] });
  const [y] = g.node({
    name: "cast",
    op: "Cast",
    inputs: [sum],
    outputs: ["y"],
    attributes: { to: { int: 1 } },
  });
  g.output({ name: y, dataType: DataType.FLOAT, shape: ["n"] });
  addOne = join(dir, "add-one.onnx");
  await writeFile(addOne, g.encode());
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("onnxruntime's C API", () => {
  it("is the library onnxruntime-node ships, at its version", () => {
    const { version } = createRequire(import.meta.url)("onnxruntime-node/package.json") as {
      version: string;
    };
    expect(ortLibrary().version).toBe(version);
    expect(ortLibrary().path).toMatch(/onnxruntime-node[\\/]bin[\\/]napi-v6/);
  });

  it("turns a failed status into an OrtError with onnxruntime's message and code", () => {
    const { api } = ortLibrary();
    expect(() => check(api.CreateStatus(2, "a test status"))).toThrow(
      expect.objectContaining({ name: "OrtError", message: "a test status", ortCode: 2 }),
    );
    expect(() => check(null)).not.toThrow();
  });

  it("reports a model it cannot load in onnxruntime's words", async () => {
    expect(() => NativeSession.create(join(dir, "missing.onnx"), { provider: "cpu", threads: 1 })).toThrow(
      OrtError,
    );
    const garbage = join(dir, "garbage.onnx");
    await writeFile(garbage, "not a model");
    expect(() => NativeSession.create(garbage, { provider: "cpu", threads: 1 })).toThrow(
      /protobuf|parse|model/i,
    );
  });

  it("reads and writes bound host tensors in place, run after run", () => {
    const session = NativeSession.create(addOne, { provider: "cpu", threads: 1 });
    try {
      const x = session.hostTensor("int64", [3]);
      const y = session.hostTensor("float32", [3]);
      session.bindOutput("y", y);
      const out = new Float32Array(3);
      for (const values of [
        [1, 2, 3],
        [40, 50, 60],
      ]) {
        x.write(values);
        session.bindInput("x", x);
        session.run();
        y.readInto(out);
        expect(Array.from(out)).toEqual(values.map((v) => v + 1));
      }
    } finally {
      session.release();
    }
  });

  it("binds a view of a tensor's first elements, which shares its memory, and zeroes a byte range", () => {
    const session = NativeSession.create(addOne, { provider: "cpu", threads: 1 });
    try {
      const base = session.hostTensor("int64", [6]);
      base.write([10, 20, 30, 40, 50, 60]);
      const view = session.hostView(base, [4]);
      expect(view.shape).toEqual([4]);
      expect(() => session.hostView(base, [7])).toThrow(RangeError);
      const y = session.hostTensor("float32", [4]);
      session.bindInput("x", view);
      session.bindOutput("y", y);
      session.run();
      const out = new Float32Array(4);
      y.readInto(out);
      expect(Array.from(out)).toEqual([11, 21, 31, 41]);

      base.zero(8, 24); // elements 1 and 2
      view.write([7]); // writes through the view land in the base
      session.run();
      y.readInto(out);
      expect(Array.from(out)).toEqual([8, 1, 1, 41]);
      expect(() => base.zero(0, 49)).toThrow(RangeError);
    } finally {
      session.release();
    }
  });

  it("moves bytes within a host tensor, overlapping ranges included, and refuses a range outside it", () => {
    const session = NativeSession.create(addOne, { provider: "cpu", threads: 1 });
    try {
      const x = session.hostTensor("int64", [6]);
      const y = session.hostTensor("float32", [6]);
      session.bindOutput("y", y);
      const resultOf = (move: () => void) => {
        x.write([1, 2, 3, 4, 5, 6]);
        move();
        session.bindInput("x", x);
        session.run();
        const out = new Float32Array(6);
        y.readInto(out);
        return Array.from(out, (v) => v - 1);
      };
      expect(resultOf(() => x.move(0, 16, 24))).toEqual([1, 2, 1, 2, 3, 6]); // forward, overlapping
      expect(resultOf(() => x.move(16, 0, 32))).toEqual([3, 4, 5, 6, 5, 6]); // backward, overlapping
      expect(() => x.move(8, 24, 32)).toThrow(RangeError);
      expect(() => x.move(-8, 0, 8)).toThrow(RangeError);
    } finally {
      session.release();
    }
  });

  it("writes float32 host tensors too, and refuses types it cannot encode", async () => {
    const g = new GraphBuilder("negate");
    g.input({ name: "x", dataType: DataType.FLOAT, shape: ["n"] });
    g.node({ name: "neg", op: "Neg", inputs: ["x"], outputs: ["y"] });
    g.output({ name: "y", dataType: DataType.FLOAT, shape: ["n"] });
    const negate = join(dir, "negate.onnx");
    await writeFile(negate, g.encode());
    const session = NativeSession.create(negate, { provider: "cpu", threads: 1 });
    try {
      const x = session.hostTensor("float32", [3]);
      const y = session.hostTensor("float32", [3]);
      x.write([1.5, -2.25, 1e-3]);
      session.bindInput("x", x);
      session.bindOutput("y", y);
      session.run();
      const out = new Float32Array(3);
      y.readInto(out);
      expect(Array.from(out)).toEqual([-1.5, 2.25, -Math.fround(1e-3)]);
      expect(() => session.hostTensor("uint8", [2]).write([1, 2])).toThrow(TypeError);
    } finally {
      session.release();
    }
  });

  it("writes a profile of its runs when asked", async () => {
    const prefix = join(dir, "profile");
    const session = NativeSession.create(addOne, { provider: "cpu", threads: 1, profilePrefix: prefix });
    const x = session.hostTensor("int64", [2]);
    x.write([1, 2]);
    session.bindInput("x", x);
    session.bindOutput("y", session.hostTensor("float32", [2]));
    session.run();
    const file = session.endProfiling();
    session.release();
    expect(file).toContain("profile");
    const events = JSON.parse(await readFile(file, "utf8")) as { name: string }[];
    expect(events.some((e) => e.name === "model_run")).toBe(true);
  });

  it("never wraps native memory in an ArrayBuffer, which Electron's memory cage forbids", async () => {
    // koffi.view() would create an external ArrayBuffer: onnxruntime's memory stays behind copies.
    const root = join(import.meta.dirname, "..", "..", "engine");
    const files = (await readdir(root, { recursive: true })).filter((f) => f.endsWith(".ts"));
    for (const file of files) {
      expect(await readFile(join(root, file), "utf8"), file).not.toMatch(/koffi\.view\s*\(/);
    }
  });
});
