/**
 * Decodes the flat `Name.1.Sub=value` parameters of the query and ec2 wire families by walking
 * the operation's input shape. The parameters are first folded into a tree on their dots; the
 * walk then consumes the nodes the shape names, so whatever is left over is an unknown parameter.
 *
 * The two families differ only in names: query uses `locationName` (or the member name) and writes
 * lists as `Name.member.N` (or `Name.<member locationName>.N`) and maps as `Name.entry.N.key`;
 * ec2 uses `queryName`, else the capitalised `locationName`, and writes every list as `Name.N`.
 */
import type { LoadedModel } from '../models/loader.js';
import type { Shape } from '../models/shapes.js';
import { shapeType } from '../models/shapes.js';
import { CommonErrors } from './errors.js';

export type QueryFlavour = 'query' | 'ec2';

export interface ParamNode {
  value?: string;
  children: Map<string, ParamNode>;
  used: boolean;
}

export function paramTree(params: Iterable<[string, string]>): ParamNode {
  const root: ParamNode = { children: new Map(), used: true };
  for (const [key, value] of params) {
    let node = root;
    for (const part of key.split('.')) {
      let next = node.children.get(part);
      if (!next) {
        next = { children: new Map(), used: false };
        node.children.set(part, next);
      }
      node = next;
    }
    node.value = value;
  }
  return root;
}

export function decodeQueryInput(
  model: LoadedModel,
  shape: Shape | undefined,
  root: ParamNode,
  flavour: QueryFlavour,
): Record<string, unknown> {
  if (!shape) return {};
  const out = decodeStructure(model, shape, root, flavour, '') as Record<string, unknown>;
  const unknown = firstUnused(root, '');
  if (unknown) throw CommonErrors.unknownParameter(unknown);
  return out;
}

function wireName(name: string, member: Shape, flavour: QueryFlavour): string {
  if (flavour === 'ec2') {
    if (member.queryName) return member.queryName;
    if (member.locationName) return member.locationName[0].toUpperCase() + member.locationName.slice(1);
    return name;
  }
  return member.locationName ?? name;
}

function decodeStructure(model: LoadedModel, shape: Shape, node: ParamNode, flavour: QueryFlavour, path: string) {
  const out: Record<string, unknown> = {};
  node.used = true;
  for (const [name, ref] of Object.entries(shape.members ?? {})) {
    const member = model.resolve(ref);
    const wire = wireName(name, member, flavour);
    const child = node.children.get(wire);
    if (!child) continue;
    out[name] = decodeValue(model, member, child, flavour, path ? `${path}.${wire}` : wire);
  }
  for (const req of shape.required ?? []) {
    if (out[req] === undefined) {
      const member = model.resolve(shape.members?.[req] ?? {});
      const wire = wireName(req, member, flavour);
      throw CommonErrors.missingParameter(path ? `${path}.${wire}` : wire);
    }
  }
  return out;
}

function decodeValue(model: LoadedModel, shape: Shape, node: ParamNode, flavour: QueryFlavour, path: string): unknown {
  node.used = true;
  const type = shapeType(shape);
  // `Name=` is how query clients send an empty list; any other value where a list, map or
  // structure belongs would otherwise be dropped without a word.
  if ((type === 'structure' || type === 'list' || type === 'map') && node.value) {
    throw CommonErrors.invalidParameterValue(`Value (${node.value}) for parameter ${path} is invalid. Expected a ${type === 'list' ? `list (${path}.1, ${path}.2, …)` : type}.`);
  }
  switch (type) {
    case 'structure':
      return decodeStructure(model, shape, node, flavour, path);
    case 'list':
      return decodeList(model, shape, node, flavour, path);
    case 'map':
      return decodeMap(model, shape, node, flavour, path);
    default:
      return decodeScalar(shape, node, path);
  }
}

function numbered(node: ParamNode, path: string): [number, ParamNode][] {
  const items: [number, ParamNode][] = [];
  for (const [k, child] of node.children) {
    if (!/^[1-9][0-9]{0,5}$/.test(k)) continue;
    items.push([Number(k), child]);
  }
  if (items.length === 0 && node.children.size > 0 && node.value === undefined) {
    const [first] = node.children.keys();
    throw CommonErrors.unknownParameter(`${path}.${first}`);
  }
  return items.sort((a, b) => a[0] - b[0]);
}

function decodeList(model: LoadedModel, shape: Shape, node: ParamNode, flavour: QueryFlavour, path: string) {
  const item = model.resolve(shape.member ?? {});
  let holder = node;
  let holderPath = path;
  if (flavour === 'query' && !shape.flattened) {
    const wrapper = item.locationName ?? 'member';
    const inner = node.children.get(wrapper);
    if (!inner) {
      if (node.children.size === 0) return []; // `Name=` is how query clients send an empty list
      const [first] = node.children.keys();
      throw CommonErrors.unknownParameter(`${path}.${first}`);
    }
    inner.used = true;
    holder = inner;
    holderPath = `${path}.${wrapper}`;
  }
  return numbered(holder, holderPath).map(([i, child]) => decodeValue(model, item, child, flavour, `${holderPath}.${i}`));
}

function decodeMap(model: LoadedModel, shape: Shape, node: ParamNode, flavour: QueryFlavour, path: string) {
  const key = model.resolve(shape.key ?? {});
  const val = model.resolve(shape.value ?? {});
  const kn = key.locationName ?? 'key';
  const vn = val.locationName ?? 'value';
  let holder = node;
  let holderPath = path;
  if (!shape.flattened && flavour === 'query') {
    const inner = node.children.get('entry');
    if (!inner) return {};
    inner.used = true;
    holder = inner;
    holderPath = `${path}.entry`;
  }
  const out: Record<string, unknown> = {};
  for (const [i, entry] of numbered(holder, holderPath)) {
    entry.used = true;
    const k = entry.children.get(kn);
    const v = entry.children.get(vn);
    if (!k || k.value === undefined) throw CommonErrors.missingParameter(`${holderPath}.${i}.${kn}`);
    k.used = true;
    out[k.value] = v ? decodeValue(model, val, v, flavour, `${holderPath}.${i}.${vn}`) : '';
  }
  return out;
}

function decodeScalar(shape: Shape, node: ParamNode, path: string): unknown {
  if (node.children.size > 0) {
    const [first] = node.children.keys();
    throw CommonErrors.unknownParameter(`${path}.${first}`);
  }
  const raw = node.value ?? '';
  const bad = () => CommonErrors.invalidParameterValue(`Value (${raw}) for parameter ${path} is invalid.`);
  switch (shapeType(shape)) {
    case 'integer':
    case 'long': {
      if (!/^-?[0-9]+$/.test(raw)) throw bad();
      const n = Number(raw);
      if (!Number.isSafeInteger(n) || (shapeType(shape) === 'integer' && (n > 2 ** 31 - 1 || n < -(2 ** 31)))) throw bad();
      return n;
    }
    case 'float':
    case 'double': {
      // Number() alone would also take '0x10', ' 1' and 'Infinity'.
      if (!/^-?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$/.test(raw)) throw bad();
      const n = Number(raw);
      if (!Number.isFinite(n)) throw bad();
      return n;
    }
    case 'boolean': {
      const l = raw.toLowerCase();
      if (l === 'true') return true;
      if (l === 'false') return false;
      throw bad();
    }
    case 'timestamp': {
      const d = /^[0-9]+(\.[0-9]+)?$/.test(raw) ? new Date(Number(raw) * 1000) : new Date(raw);
      if (Number.isNaN(d.getTime())) throw bad();
      return d;
    }
    case 'blob': {
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(raw)) throw bad();
      return Buffer.from(raw, 'base64');
    }
    default:
      return raw;
  }
}

function firstUnused(node: ParamNode, path: string): string | undefined {
  for (const [k, child] of node.children) {
    const p = path ? `${path}.${k}` : k;
    if (!child.used) return p;
    const deeper = firstUnused(child, p);
    if (deeper) return deeper;
  }
  return undefined;
}

