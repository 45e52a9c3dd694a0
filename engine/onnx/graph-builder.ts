/**
 * A small typed layer over onnx-proto for writing graphs from TypeScript: nodes with named places,
 * initializers inline or in external data, and attributes typed explicitly (ONNX reads a float
 * attribute that happens to be a whole number as INT unless its type says FLOAT).
 */
import onnxProto from "onnx-proto";

const { onnx } = onnxProto;

export const DataType = onnx.TensorProto.DataType;
export type DataTypeValue = (typeof DataType)[keyof typeof DataType];

/** An attribute value with its ONNX type spelled out. */
export type Attribute = { int: number } | { float: number } | { ints: number[] } | { string: string };

export interface NodeSpec {
  /** The node's place in the model, e.g. "/model/layers.3/attn/qkv_proj/MatMul". */
  name: string;
  op: string;
  inputs: string[];
  outputs: string[];
  attributes?: Record<string, Attribute>;
  /** "" for standard ONNX operators, "com.microsoft" for onnxruntime's contrib operators. */
  domain?: "" | "com.microsoft";
}

/** Where an initializer's bytes live in the external data file. */
export interface ExternalLocation {
  location: string;
  offset: number;
  length: number;
}

export interface InitializerSpec {
  name: string;
  dataType: DataTypeValue;
  dims: number[];
  /** Small tensors go inline as raw little-endian bytes; large ones in external data. */
  raw?: Uint8Array;
  external?: ExternalLocation;
}

export interface ValueSpec {
  name: string;
  dataType: DataTypeValue;
  /** A number is a fixed size, a string a symbolic dimension such as "sequence". */
  shape: (number | string)[];
}

function attributeProto(name: string, value: Attribute): InstanceType<typeof onnx.AttributeProto> {
  const AT = onnx.AttributeProto.AttributeType;
  if ("int" in value) return onnx.AttributeProto.create({ name, type: AT.INT, i: value.int });
  if ("float" in value) return onnx.AttributeProto.create({ name, type: AT.FLOAT, f: value.float });
  if ("ints" in value) return onnx.AttributeProto.create({ name, type: AT.INTS, ints: value.ints });
  return onnx.AttributeProto.create({
    name,
    type: AT.STRING,
    s: new TextEncoder().encode(value.string),
  });
}

function valueInfo(spec: ValueSpec): InstanceType<typeof onnx.ValueInfoProto> {
  return onnx.ValueInfoProto.create({
    name: spec.name,
    type: {
      tensorType: {
        elemType: spec.dataType,
        shape: {
          dim: spec.shape.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d })),
        },
      },
    },
  });
}

export class GraphBuilder {
  private readonly nodes: NodeSpec[] = [];
  private readonly initializers: InitializerSpec[] = [];
  private readonly inputs: ValueSpec[] = [];
  private readonly outputs: ValueSpec[] = [];
  private readonly names = new Set<string>();

  /**
   * `opset` is the default domain's version (com.microsoft stays at 1); the IR version follows it:
   * ONNX opset 21 came with IR 10 and 23-24 with IR 11, but IR 8 is enough for what opset 21 uses.
   */
  constructor(
    readonly graphName: string,
    private readonly opset = 21,
  ) {}

  input(spec: ValueSpec): string {
    this.inputs.push(spec);
    return spec.name;
  }

  output(spec: ValueSpec): string {
    this.outputs.push(spec);
    return spec.name;
  }

  initializer(spec: InitializerSpec): string {
    this.initializers.push(spec);
    return spec.name;
  }

  /** A small int64 constant (shapes, split sizes, axes), stored inline. */
  int64s(name: string, values: number[], dims: number[] = [values.length]): string {
    const raw = new Uint8Array(new BigInt64Array(values.map(BigInt)).buffer);
    return this.initializer({ name, dataType: DataType.INT64, dims, raw });
  }

  /** Whether a node of the graph reads the value `name` (an initializer is worth adding only then). */
  reads(name: string): boolean {
    return this.nodes.some((n) => n.inputs.includes(name));
  }

  /** Adds a node and returns its outputs; node names must be unique so a graph explains itself. */
  node(spec: NodeSpec): string[] {
    if (this.names.has(spec.name)) throw new Error(`Duplicate node name ${spec.name}`);
    this.names.add(spec.name);
    this.nodes.push(spec);
    return spec.outputs;
  }

  /** Serializes the model (the builder's opset plus com.microsoft 1). */
  encode(meta: Record<string, string> = {}): Uint8Array {
    const graph = onnx.GraphProto.create({
      name: this.graphName,
      node: this.nodes.map((n) =>
        onnx.NodeProto.create({
          name: n.name,
          opType: n.op,
          domain: n.domain ?? "",
          input: n.inputs,
          output: n.outputs,
          attribute: Object.entries(n.attributes ?? {}).map(([k, v]) => attributeProto(k, v)),
        }),
      ),
      initializer: this.initializers.map((t) =>
        onnx.TensorProto.create({
          name: t.name,
          dataType: t.dataType,
          dims: t.dims,
          ...(t.raw ? { rawData: t.raw } : {}),
          ...(t.external
            ? {
                dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
                externalData: [
                  { key: "location", value: t.external.location },
                  { key: "offset", value: String(t.external.offset) },
                  { key: "length", value: String(t.external.length) },
                ],
              }
            : {}),
        }),
      ),
      input: this.inputs.map(valueInfo),
      output: this.outputs.map(valueInfo),
    });
    const model = onnx.ModelProto.create({
      irVersion: this.opset >= 23 ? 11 : 8,
      producerName: "elmwood",
      opsetImport: [
        { domain: "", version: this.opset },
        { domain: "com.microsoft", version: 1 },
      ],
      graph,
      metadataProps: Object.entries(meta).map(([key, value]) => ({ key, value })),
    });
    return onnx.ModelProto.encode(model).finish();
  }

  get nodeCount(): number {
    return this.nodes.length;
  }
}
