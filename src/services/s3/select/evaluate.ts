/**
 * Runs a parsed S3 Select query (./sql.ts) over records (./records.ts): WHERE as SQL's
 * three-valued logic (NULL and MISSING are neither true nor false), projections, aggregates
 * over the whole object, LIMIT. CSV fields are text; a comparison or arithmetic between text that
 * reads as a number and a number compares them as numbers, as S3 Select's examples expect.
 * Evaluation errors (a CAST that fails, say) are S3's codes, thrown at the record that caused them.
 */
import { AwsError } from '../../../protocol/errors.js';
import { AGGREGATES, SqlErrors, type Expr, type Query } from './sql.js';

/** One input record, as the query sees it. */
export interface Row {
  /** The value at a column path (the FROM alias already taken off); undefined is MISSING. */
  get(path: (string | number)[], quoted: boolean[]): unknown;
  /** SELECT *: the record as it is output. */
  whole(): OutRecord;
}

/** A record to output: named values in order, or (JSON input, SELECT *) the JSON value itself. */
export type OutRecord = { names: string[]; values: unknown[] } | { json: unknown };

export const EvalErrors = {
  castFailed: () => new AwsError('CastFailed', 'Attempt to convert from one data type to another using CAST failed in the SQL expression.', 400),
  badArguments: (fn: string) => new AwsError('EvaluatorInvalidArguments', `Incorrect number of arguments in the function call ${fn}.`, 400),
  unsupportedFunction: (fn: string) => new AwsError('UnsupportedFunction', `Encountered an unsupported SQL function: ${fn}.`, 400),
  aggregateMix: () => SqlErrors.unsupported('aggregate and non-aggregate expressions in one SELECT'),
  divideByZero: () => new AwsError('EvaluatorDivisionByZero', 'Division by zero in the SQL expression.', 400),
};

const FUNCTIONS = new Set(['LOWER', 'UPPER', 'CHAR_LENGTH', 'CHARACTER_LENGTH', 'TRIM', 'SUBSTRING', 'COALESCE', 'NULLIF', 'ABS']);

/** Checks a query's functions and shape before any record is read, so such errors come before the answer. */
export function checkQuery(q: Query): void {
  const walk = (e: Expr, inAggregate: boolean): void => {
    if (e.k === 'call') {
      const agg = AGGREGATES.has(e.name);
      if (!agg && !FUNCTIONS.has(e.name)) throw EvalErrors.unsupportedFunction(e.name);
      if (agg && (inAggregate || e.args.length !== 1)) throw EvalErrors.badArguments(e.name);
      for (const a of e.args) walk(a, inAggregate || agg);
    } else if (e.k === 'col') {
      if (typeof e.path[e.path.length - 1] === 'string' && /^_0+$/.test(String(e.path[e.path.length - 1]))) throw SqlErrors.columnIndex();
    } else for (const child of children(e)) walk(child, inAggregate);
  };
  for (const c of q.columns ?? []) walk(c.e, false);
  if (q.where) {
    if (hasAggregate(q.where)) throw SqlErrors.unsupported('an aggregate in WHERE');
    walk(q.where, false);
  }
  const cols = q.columns ?? [];
  if (cols.some((c) => hasAggregate(c.e)) && !cols.every((c) => hasAggregate(c.e) || c.e.k === 'lit')) throw EvalErrors.aggregateMix();
}

function children(e: Expr): Expr[] {
  switch (e.k) {
    case 'bin':
      return [e.l, e.r];
    case 'not':
    case 'neg':
    case 'cast':
      return [e.e];
    case 'like':
      return [e.e, e.pattern, ...(e.escape ? [e.escape] : [])];
    case 'is':
      return [e.e];
    case 'between':
      return [e.e, e.lo, e.hi];
    case 'in':
      return [e.e, ...e.list];
    case 'call':
      return e.args;
    default:
      return [];
  }
}

export function hasAggregate(e: Expr): boolean {
  return (e.k === 'call' && AGGREGATES.has(e.name)) || children(e).some(hasAggregate);
}

/** The name a projected column is output under: its alias, a column's last name, else `_<position>`. */
export function columnName(e: Expr, alias: string | undefined, position: number): string {
  if (alias) return alias;
  if (e.k === 'col') {
    const last = e.path[e.path.length - 1];
    if (typeof last === 'string') return last;
  }
  return `_${position}`;
}

const numeric = (v: unknown): number | undefined => {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  return undefined;
};

function compare(a: unknown, b: unknown): number | undefined {
  if (a === null || a === undefined || b === null || b === undefined) return undefined;
  if (typeof a === 'number' || typeof b === 'number') {
    const x = numeric(a);
    const y = numeric(b);
    if (x === undefined || y === undefined) return undefined;
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (typeof a === 'boolean' || typeof b === 'boolean') return a === b ? 0 : undefined;
  const x = String(a);
  const y = String(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

function likeRegex(pattern: string, escape: string | undefined): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (escape !== undefined && c === escape && i + 1 < pattern.length) re += pattern[++i].replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    else if (c === '%') re += '[\\s\\S]*';
    else if (c === '_') re += '[\\s\\S]';
    else re += c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

function cast(v: unknown, type: string): unknown {
  if (v === null || v === undefined) return v;
  switch (type) {
    case 'INT':
    case 'INTEGER':
    case 'BIGINT':
    case 'SMALLINT': {
      const n = numeric(typeof v === 'boolean' ? Number(v) : v);
      if (n === undefined) throw EvalErrors.castFailed();
      return Math.trunc(n);
    }
    case 'FLOAT':
    case 'REAL':
    case 'DOUBLE':
    case 'DECIMAL':
    case 'NUMERIC': {
      const n = numeric(v);
      if (n === undefined) throw EvalErrors.castFailed();
      return n;
    }
    case 'BOOL':
    case 'BOOLEAN':
      if (typeof v === 'boolean') return v;
      if (String(v).toLowerCase() === 'true') return true;
      if (String(v).toLowerCase() === 'false') return false;
      throw EvalErrors.castFailed();
    case 'TIMESTAMP': {
      const d = new Date(String(v));
      if (Number.isNaN(d.getTime())) throw EvalErrors.castFailed();
      return d;
    }
    default:
      return typeof v === 'object' ? JSON.stringify(v) : String(v);
  }
}

function arithmetic(op: string, a: unknown, b: unknown): unknown {
  const x = numeric(a);
  const y = numeric(b);
  if (x === undefined || y === undefined) return null;
  switch (op) {
    case '+':
      return x + y;
    case '-':
      return x - y;
    case '*':
      return x * y;
    case '/':
      if (y === 0) throw EvalErrors.divideByZero();
      return Number.isInteger(x) && Number.isInteger(y) ? Math.trunc(x / y) : x / y;
    default:
      if (y === 0) throw EvalErrors.divideByZero();
      return x % y;
  }
}

/** Evaluates `e` for one record; aggregates read their finished value from `aggregates`. */
export function evaluate(e: Expr, row: Row, alias: string | undefined, aggregates?: Map<Expr, unknown>): unknown {
  const ev = (x: Expr) => evaluate(x, row, alias, aggregates);
  switch (e.k) {
    case 'lit':
      return e.v;
    case 'star':
      return true;
    case 'col': {
      const strip = alias !== undefined && e.path.length > 1 && typeof e.path[0] === 'string' && e.path[0].toLowerCase() === alias.toLowerCase();
      return row.get(strip ? e.path.slice(1) : e.path, strip ? e.quoted.slice(1) : e.quoted);
    }
    case 'not': {
      const v = truth(ev(e.e));
      return v === undefined ? null : !v;
    }
    case 'neg': {
      const n = numeric(ev(e.e));
      return n === undefined ? null : -n;
    }
    case 'bin': {
      if (e.op === 'AND' || e.op === 'OR') {
        const l = truth(ev(e.l));
        const r = truth(ev(e.r));
        if (e.op === 'AND') return l === false || r === false ? false : l === undefined || r === undefined ? null : true;
        return l === true || r === true ? true : l === undefined || r === undefined ? null : false;
      }
      const l = ev(e.l);
      const r = ev(e.r);
      if (e.op === '||') return l === null || l === undefined || r === null || r === undefined ? null : `${text(l)}${text(r)}`;
      if (['+', '-', '*', '/', '%'].includes(e.op)) return arithmetic(e.op, l, r);
      const c = compare(l, r);
      if (c === undefined) return null;
      return { '=': c === 0, '!=': c !== 0, '<': c < 0, '<=': c <= 0, '>': c > 0, '>=': c >= 0 }[e.op];
    }
    case 'like': {
      const v = ev(e.e);
      const p = ev(e.pattern);
      if (v === null || v === undefined || p === null || p === undefined) return null;
      const escape = e.escape ? String(ev(e.escape)) : undefined;
      const hit = likeRegex(String(p), escape).test(text(v));
      return e.not ? !hit : hit;
    }
    case 'is': {
      const v = ev(e.e);
      const hit = e.what === 'MISSING' ? v === undefined : v === null || v === undefined;
      return e.not ? !hit : hit;
    }
    case 'between': {
      const v = ev(e.e);
      const lo = compare(v, ev(e.lo));
      const hi = compare(v, ev(e.hi));
      if (lo === undefined || hi === undefined) return null;
      const hit = lo >= 0 && hi <= 0;
      return e.not ? !hit : hit;
    }
    case 'in': {
      const v = ev(e.e);
      if (v === null || v === undefined) return null;
      const hit = e.list.some((x) => compare(v, ev(x)) === 0);
      return e.not ? !hit : hit;
    }
    case 'cast':
      return cast(ev(e.e), e.type);
    case 'call':
      if (AGGREGATES.has(e.name)) return aggregates?.get(e) ?? null;
      return callFunction(e.name, e.args.map(ev));
  }
}

function callFunction(name: string, args: unknown[]): unknown {
  const arity = (min: number, max = min) => {
    if (args.length < min || args.length > max) throw EvalErrors.badArguments(name);
  };
  const nul = (v: unknown) => v === null || v === undefined;
  switch (name) {
    case 'LOWER':
      arity(1);
      return nul(args[0]) ? null : text(args[0]).toLowerCase();
    case 'UPPER':
      arity(1);
      return nul(args[0]) ? null : text(args[0]).toUpperCase();
    case 'CHAR_LENGTH':
    case 'CHARACTER_LENGTH':
      arity(1);
      return nul(args[0]) ? null : [...text(args[0])].length;
    case 'TRIM':
      arity(1);
      return nul(args[0]) ? null : text(args[0]).trim();
    case 'ABS': {
      arity(1);
      const n = numeric(args[0]);
      return n === undefined ? null : Math.abs(n);
    }
    case 'SUBSTRING': {
      arity(2, 3);
      if (nul(args[0])) return null;
      const chars = [...text(args[0])];
      const start = Number(numeric(args[1]) ?? 1);
      const len = args.length === 3 ? Number(numeric(args[2]) ?? 0) : chars.length;
      const from = Math.max(start, 1);
      const to = start + len;
      return chars.slice(from - 1, Math.max(to - 1, from - 1)).join('');
    }
    case 'COALESCE':
      if (args.length === 0) throw EvalErrors.badArguments(name);
      return args.find((a) => !nul(a)) ?? null;
    default: // NULLIF
      arity(2);
      return compare(args[0], args[1]) === 0 ? null : args[0];
  }
}

/** SQL truth: undefined for NULL/MISSING and anything that is not a boolean. */
export function truth(v: unknown): boolean | undefined {
  if (v === true || v === false) return v;
  if (typeof v === 'string' && /^(true|false)$/i.test(v)) return v.toLowerCase() === 'true';
  return undefined;
}

export function text(v: unknown): string {
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'object' && v !== null) return JSON.stringify(v);
  return String(v);
}

/** The running state of the aggregates of a SELECT, fed record by record. */
export class Aggregates {
  private readonly calls: (Expr & { k: 'call' })[] = [];
  private readonly state = new Map<Expr, { count: number; sum: number; best: unknown }>();

  constructor(q: Query) {
    const collect = (e: Expr) => {
      if (e.k === 'call' && AGGREGATES.has(e.name)) this.calls.push(e);
      else for (const c of children(e)) collect(c);
    };
    for (const c of q.columns ?? []) collect(c.e);
    for (const c of this.calls) this.state.set(c, { count: 0, sum: 0, best: undefined });
  }

  get any(): boolean {
    return this.calls.length > 0;
  }

  add(row: Row, alias: string | undefined): void {
    for (const c of this.calls) {
      const s = this.state.get(c)!;
      const v = evaluate(c.args[0], row, alias);
      if (v === null || v === undefined) continue;
      if (c.name === 'COUNT') {
        s.count++;
        continue;
      }
      if (c.name === 'MIN' || c.name === 'MAX') {
        const cmp = s.best === undefined ? undefined : compare(v, s.best);
        if (s.best === undefined || (cmp !== undefined && (c.name === 'MIN' ? cmp < 0 : cmp > 0))) s.best = typeof v === 'string' && numeric(v) !== undefined ? numeric(v) : v;
        s.count++;
        continue;
      }
      const n = numeric(v);
      if (n === undefined) throw EvalErrors.castFailed();
      s.sum += n;
      s.count++;
    }
  }

  values(): Map<Expr, unknown> {
    const out = new Map<Expr, unknown>();
    for (const c of this.calls) {
      const s = this.state.get(c)!;
      if (c.name === 'COUNT') out.set(c, s.count);
      else if (s.count === 0) out.set(c, null);
      else if (c.name === 'SUM') out.set(c, s.sum);
      else if (c.name === 'AVG') out.set(c, s.sum / s.count);
      else out.set(c, s.best);
    }
    return out;
  }
}
