/**
 * Decoding of google.protobuf.Struct and Value as @grpc/proto-loader
 * delivers them. With `oneofs: true` a Value names its kind in `kind`, and
 * the kind's field is camelCase (`stringValue`, `listValue`,
 * `structValue`) even under `keepCase`, because protobufjs's well-known
 * type wrappers are written that way; both spellings are accepted.
 */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

// The depth a Value may nest to before decoding gives up: the daemon's
// results are far shallower, and a cap keeps a hostile reply from
// exhausting the stack.
const MAX_DEPTH = 512;

export function decodeStruct(s: any, depth = 0): { [key: string]: JsonValue } {
  const out: { [key: string]: JsonValue } = {};
  const fields = s?.fields ?? {};
  for (const key of Object.keys(fields)) out[key] = decodeValue(fields[key], depth + 1);
  return out;
}

export function decodeValue(v: any, depth = 0): JsonValue {
  if (depth > MAX_DEPTH) throw new RangeError("google.protobuf.Value nested too deep");
  if (v === null || v === undefined) return null;
  const kind: string | undefined = v.kind;
  const pick = (camel: string, snake: string) => (v[camel] !== undefined ? v[camel] : v[snake]);
  switch (kind) {
    case "nullValue":
    case "null_value":
      return null;
    case "numberValue":
    case "number_value":
      return Number(pick("numberValue", "number_value"));
    case "stringValue":
    case "string_value":
      return String(pick("stringValue", "string_value"));
    case "boolValue":
    case "bool_value":
      return Boolean(pick("boolValue", "bool_value"));
    case "structValue":
    case "struct_value":
      return decodeStruct(pick("structValue", "struct_value"), depth + 1);
    case "listValue":
    case "list_value": {
      const list = pick("listValue", "list_value");
      return (list?.values ?? []).map((x: any) => decodeValue(x, depth + 1));
    }
  }
  // No kind (oneofs off): the first field that is set.
  for (const [camel, snake] of [
    ["stringValue", "string_value"], ["numberValue", "number_value"], ["boolValue", "bool_value"],
    ["structValue", "struct_value"], ["listValue", "list_value"], ["nullValue", "null_value"],
  ]) {
    if (v[camel] !== undefined || v[snake] !== undefined) return decodeValue({ ...v, kind: camel }, depth);
  }
  return null;
}
