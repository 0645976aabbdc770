/**
 * Loads an AWS API model from the aws-sdk v2 package, applies kumo's patches (corrections and
 * details the minified models dropped, kept as data in ./patches) and resolves shape references.
 */
import { createRequire } from 'node:module';
import type { Operation, ServiceModel, Shape } from './shapes.js';
import { patches, type ModelPatch } from './patches/index.js';

const require = createRequire(import.meta.url);
const cache = new Map<string, LoadedModel>();

export class LoadedModel {
  readonly raw: ServiceModel;
  private readonly resolved = new WeakMap<Shape, Shape>();

  constructor(raw: ServiceModel) {
    this.raw = raw;
    for (const [name, op] of Object.entries(raw.operations)) op.name = name;
  }

  get metadata() {
    return this.raw.metadata;
  }

  operation(name: string): Operation | undefined {
    return Object.prototype.hasOwnProperty.call(this.raw.operations, name) ? this.raw.operations[name] : undefined;
  }

  get operationNames(): string[] {
    return Object.keys(this.raw.operations);
  }

  /** A member's traits layered over the shape it references, so walkers see one object. */
  resolve(member: Shape): Shape {
    if (!member.shape) return member;
    const hit = this.resolved.get(member);
    if (hit) return hit;
    const target = this.raw.shapes[member.shape];
    if (!target) throw new Error(`model ${this.raw.metadata.uid}: unknown shape ${member.shape}`);
    const { shape: _ref, ...traits } = member;
    const out: Shape = { ...this.resolve(target), ...traits };
    this.resolved.set(member, out);
    return out;
  }
}

/** `uid` is the model file's name without suffix, e.g. `ec2-2016-11-15`. */
export function loadModel(uid: string): LoadedModel {
  const hit = cache.get(uid);
  if (hit) return hit;
  // The parsed JSON is ours alone (cached here), so patches may change it in place.
  const raw = require(`aws-sdk/apis/${uid}.min.json`) as ServiceModel;
  const patch = patches[uid];
  if (patch) applyPatch(raw, patch);
  const model = new LoadedModel(raw);
  cache.set(uid, model);
  return model;
}

function applyPatch(raw: ServiceModel, patch: ModelPatch): void {
  deepMerge(raw as unknown as Record<string, unknown>, patch as unknown as Record<string, unknown>);
}

function deepMerge(target: Record<string, unknown>, src: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(src)) {
    const t = target[k];
    if (v && typeof v === 'object' && !Array.isArray(v) && t && typeof t === 'object' && !Array.isArray(t)) {
      deepMerge(t as Record<string, unknown>, v as Record<string, unknown>);
    } else {
      target[k] = structuredClone(v);
    }
  }
}
