/**
 * S3 Select's SQL, the subset kumo runs: parsed into a small tree that ./evaluate.ts walks.
 *
 *   SELECT * | expr [AS alias], …  FROM S3Object[[*]][.path…] [[AS] alias]  [WHERE expr]  [LIMIT n]
 *
 * Expressions: column references (`s._1`, `s.name`, `s."Quoted Name"`, `name`, nested JSON
 * paths `s.a.b`, `s.a[0]`), literals ('text', numbers, TRUE, FALSE, NULL), arithmetic
 * (+ - * / %), `||`, comparisons (= != <> < <= > >=), AND, OR, NOT, [NOT] LIKE … [ESCAPE …],
 * IS [NOT] NULL / MISSING, [NOT] BETWEEN, [NOT] IN (…), CAST(expr AS type), the functions of
 * ./evaluate.ts and the aggregates COUNT, SUM, AVG, MIN, MAX. Keywords are case-insensitive.
 * Anything else is refused with S3's parse error codes before the answer begins.
 */
import { AwsError } from '../../../protocol/errors.js';

export type Expr =
  | { k: 'lit'; v: unknown }
  | { k: 'col'; path: (string | number)[]; quoted: boolean[] }
  | { k: 'star' }
  | { k: 'bin'; op: string; l: Expr; r: Expr }
  | { k: 'not'; e: Expr }
  | { k: 'neg'; e: Expr }
  | { k: 'like'; e: Expr; pattern: Expr; escape?: Expr; not: boolean }
  | { k: 'is'; e: Expr; what: 'NULL' | 'MISSING'; not: boolean }
  | { k: 'between'; e: Expr; lo: Expr; hi: Expr; not: boolean }
  | { k: 'in'; e: Expr; list: Expr[]; not: boolean }
  | { k: 'cast'; e: Expr; type: string }
  | { k: 'call'; name: string; args: Expr[] };

export interface Projection {
  e: Expr;
  alias?: string;
}

export interface Query {
  /** undefined: SELECT * */
  columns?: Projection[];
  /** The FROM path after S3Object: `*` explodes an array, a string takes a member. */
  from: ('*' | string)[];
  alias?: string;
  where?: Expr;
  limit?: number;
}

export const AGGREGATES = new Set(['COUNT', 'SUM', 'AVG', 'MIN', 'MAX']);
export const CAST_TYPES = new Set(['INT', 'INTEGER', 'BIGINT', 'SMALLINT', 'FLOAT', 'REAL', 'DOUBLE', 'DECIMAL', 'NUMERIC', 'STRING', 'VARCHAR', 'CHAR', 'BOOL', 'BOOLEAN', 'TIMESTAMP']);
const KEYWORDS = new Set(['SELECT', 'FROM', 'WHERE', 'LIMIT', 'AS', 'AND', 'OR', 'NOT', 'LIKE', 'ESCAPE', 'IS', 'NULL', 'MISSING', 'TRUE', 'FALSE', 'BETWEEN', 'IN', 'CAST']);

export const SqlErrors = {
  unexpected: (what: string) => new AwsError('ParseUnexpectedToken', `Unexpected token found ${what} in the SQL expression.`, 400),
  expected: (keyword: string) => new AwsError('ParseExpectedKeyword', `Did not find the expected keyword ${keyword} in the SQL expression.`, 400),
  castType: (type: string) => new AwsError('ParseInvalidTypeParam', `The SQL expression contains an invalid parameter value: ${type}.`, 400),
  columnIndex: () => new AwsError('InvalidColumnIndex', 'The column index is invalid. Please check the service documentation and try again.', 400),
  tooLong: () => new AwsError('ExpressionTooLong', 'The SQL expression is too long: The maximum byte-length for the SQL expression is 256 KB.', 400),
  unsupported: (what: string) => new AwsError('UnsupportedSqlStructure', `Unsupported SQL structure: ${what}.`, 400),
};

type Tok = { t: 'id'; v: string; quoted: boolean } | { t: 'kw'; v: string } | { t: 'num'; v: number } | { t: 'str'; v: string } | { t: 'op'; v: string } | { t: 'end' };

function tokenize(sql: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < sql.length) {
    const c = sql[i];
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === "'") {
      let s = '';
      i++;
      for (;;) {
        if (i >= sql.length) throw SqlErrors.unexpected('end of input');
        if (sql[i] === "'") {
          if (sql[i + 1] === "'") {
            s += "'";
            i += 2;
            continue;
          }
          i++;
          break;
        }
        s += sql[i++];
      }
      out.push({ t: 'str', v: s });
    } else if (c === '"') {
      const end = sql.indexOf('"', i + 1);
      if (end < 0) throw SqlErrors.unexpected('end of input');
      out.push({ t: 'id', v: sql.slice(i + 1, end), quoted: true });
      i = end + 1;
    } else if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(sql[i + 1] ?? ''))) {
      const m = /^[0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?|^[0-9]+/.exec(sql.slice(i))!;
      out.push({ t: 'num', v: Number(m[0]) });
      i += m[0].length;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(sql.slice(i))!;
      const up = m[0].toUpperCase();
      out.push(KEYWORDS.has(up) ? { t: 'kw', v: up } : { t: 'id', v: m[0], quoted: false });
      i += m[0].length;
    } else {
      const two = sql.slice(i, i + 2);
      if (['<=', '>=', '<>', '!=', '||'].includes(two)) {
        out.push({ t: 'op', v: two });
        i += 2;
      } else if ('=<>+-*/%(),.[]'.includes(c)) {
        out.push({ t: 'op', v: c });
        i++;
      } else throw SqlErrors.unexpected(`'${c}'`);
    }
  }
  out.push({ t: 'end' });
  return out;
}

const MAX_SQL = 256 * 1024;

export function parseQuery(sql: string): Query {
  if (Buffer.byteLength(sql) > MAX_SQL) throw SqlErrors.tooLong();
  try {
    return new Parser(tokenize(sql)).query();
  } catch (e) {
    // Nesting deep enough to exhaust the stack is refused like any expression S3 will not take.
    if (e instanceof RangeError) throw SqlErrors.unsupported('expression nesting too deep');
    throw e;
  }
}

class Parser {
  private i = 0;
  constructor(private readonly toks: Tok[]) {}

  private peek(): Tok {
    return this.toks[this.i];
  }
  private next(): Tok {
    return this.toks[this.i++];
  }
  private isKw(v: string): boolean {
    const t = this.peek();
    return t.t === 'kw' && t.v === v;
  }
  private isOp(v: string): boolean {
    const t = this.peek();
    return t.t === 'op' && t.v === v;
  }
  private eatKw(v: string): boolean {
    if (!this.isKw(v)) return false;
    this.i++;
    return true;
  }
  private eatOp(v: string): boolean {
    if (!this.isOp(v)) return false;
    this.i++;
    return true;
  }
  private wantKw(v: string): void {
    if (!this.eatKw(v)) throw SqlErrors.expected(v);
  }
  private wantOp(v: string): void {
    if (!this.eatOp(v)) throw SqlErrors.unexpected(describe(this.peek()));
  }

  query(): Query {
    this.wantKw('SELECT');
    let columns: Projection[] | undefined;
    if (!this.eatOp('*')) {
      columns = [];
      do {
        const e = this.expr();
        let alias: string | undefined;
        if (this.eatKw('AS')) alias = this.ident();
        else if (this.peek().t === 'id') alias = this.ident();
        columns.push({ e, alias });
      } while (this.eatOp(','));
    }
    this.wantKw('FROM');
    const source = this.next();
    if (source.t !== 'id' || source.v.toLowerCase() !== 's3object') throw SqlErrors.unexpected(describe(source));
    const from: ('*' | string)[] = [];
    for (;;) {
      if (this.eatOp('[')) {
        this.wantOp('*');
        this.wantOp(']');
        from.push('*');
      } else if (this.eatOp('.')) from.push(this.ident());
      else break;
    }
    let alias: string | undefined;
    if (this.eatKw('AS')) alias = this.ident();
    else if (this.peek().t === 'id') alias = this.ident();
    const where = this.eatKw('WHERE') ? this.expr() : undefined;
    let limit: number | undefined;
    if (this.eatKw('LIMIT')) {
      const n = this.next();
      if (n.t !== 'num' || !Number.isInteger(n.v) || n.v < 0) throw SqlErrors.unexpected(describe(n));
      limit = n.v;
    }
    if (this.peek().t !== 'end') throw SqlErrors.unexpected(describe(this.peek()));
    return { columns, from, alias, where, limit };
  }

  private ident(): string {
    const t = this.next();
    if (t.t !== 'id') throw SqlErrors.unexpected(describe(t));
    return t.v;
  }

  private expr(): Expr {
    return this.or();
  }
  private or(): Expr {
    let l = this.and();
    while (this.eatKw('OR')) l = { k: 'bin', op: 'OR', l, r: this.and() };
    return l;
  }
  private and(): Expr {
    let l = this.not();
    while (this.eatKw('AND')) l = { k: 'bin', op: 'AND', l, r: this.not() };
    return l;
  }
  private not(): Expr {
    if (this.eatKw('NOT')) return { k: 'not', e: this.not() };
    return this.predicate();
  }
  private predicate(): Expr {
    const e = this.concat();
    const t = this.peek();
    if (t.t === 'op' && ['=', '!=', '<>', '<', '<=', '>', '>='].includes(t.v)) {
      this.i++;
      return { k: 'bin', op: t.v === '<>' ? '!=' : t.v, l: e, r: this.concat() };
    }
    if (this.eatKw('IS')) {
      const not = this.eatKw('NOT');
      if (this.eatKw('NULL')) return { k: 'is', e, what: 'NULL', not };
      if (this.eatKw('MISSING')) return { k: 'is', e, what: 'MISSING', not };
      throw SqlErrors.expected('NULL');
    }
    const not = this.eatKw('NOT');
    if (this.eatKw('LIKE')) {
      const pattern = this.concat();
      const escape = this.eatKw('ESCAPE') ? this.concat() : undefined;
      return { k: 'like', e, pattern, escape, not };
    }
    if (this.eatKw('BETWEEN')) {
      const lo = this.concat();
      this.wantKw('AND');
      return { k: 'between', e, lo, hi: this.concat(), not };
    }
    if (this.eatKw('IN')) {
      this.wantOp('(');
      const list: Expr[] = [];
      do list.push(this.concat());
      while (this.eatOp(','));
      this.wantOp(')');
      return { k: 'in', e, list, not };
    }
    if (not) throw SqlErrors.expected('LIKE');
    return e;
  }
  private concat(): Expr {
    return this.leftAssociative(['||'], () => this.additive());
  }
  private additive(): Expr {
    return this.leftAssociative(['+', '-'], () => this.term());
  }
  private term(): Expr {
    return this.leftAssociative(['*', '/', '%'], () => this.unary());
  }
  /** operand (op operand)*, grouped from the left. */
  private leftAssociative(ops: string[], operand: () => Expr): Expr {
    let l = operand();
    for (;;) {
      const t = this.peek();
      if (t.t !== 'op' || !ops.includes(t.v)) return l;
      this.i++;
      l = { k: 'bin', op: t.v, l, r: operand() };
    }
  }
  private unary(): Expr {
    if (this.eatOp('-')) return { k: 'neg', e: this.unary() };
    if (this.eatOp('+')) return this.unary();
    return this.primary();
  }
  private primary(): Expr {
    const t = this.next();
    if (t.t === 'num') return { k: 'lit', v: t.v };
    if (t.t === 'str') return { k: 'lit', v: t.v };
    if (t.t === 'kw') {
      if (t.v === 'NULL') return { k: 'lit', v: null };
      if (t.v === 'TRUE' || t.v === 'FALSE') return { k: 'lit', v: t.v === 'TRUE' };
      if (t.v === 'CAST') {
        this.wantOp('(');
        const e = this.expr();
        this.wantKw('AS');
        const type = this.next();
        if (type.t !== 'id' || !CAST_TYPES.has(type.v.toUpperCase())) throw SqlErrors.castType(describe(type));
        this.wantOp(')');
        return { k: 'cast', e, type: type.v.toUpperCase() };
      }
      throw SqlErrors.unexpected(describe(t));
    }
    if (t.t === 'op' && t.v === '(') {
      const e = this.expr();
      this.wantOp(')');
      return e;
    }
    if (t.t === 'id') {
      if (!t.quoted && this.isOp('(')) return this.call(t.v.toUpperCase());
      return this.column(t);
    }
    throw SqlErrors.unexpected(describe(t));
  }
  private call(name: string): Expr {
    this.wantOp('(');
    const args: Expr[] = [];
    if (name === 'COUNT' && this.eatOp('*')) args.push({ k: 'star' });
    else if (!this.isOp(')')) {
      do {
        args.push(this.expr());
        // SUBSTRING(x FROM a [FOR b]) is the standard's spelling of SUBSTRING(x, a, b).
        if (name === 'SUBSTRING' && this.eatKw('FROM')) {
          args.push(this.expr());
          const t = this.peek();
          if (t.t === 'id' && t.v.toUpperCase() === 'FOR') {
            this.i++;
            args.push(this.expr());
          }
        }
      } while (this.eatOp(','));
    }
    this.wantOp(')');
    return { k: 'call', name, args };
  }
  private column(first: Tok & { t: 'id' }): Expr {
    const path: (string | number)[] = [first.v];
    const quoted = [first.quoted];
    for (;;) {
      if (this.eatOp('.')) {
        const t = this.next();
        if (t.t === 'id') {
          path.push(t.v);
          quoted.push(t.quoted);
        } else if (t.t === 'kw') {
          path.push(t.v.toLowerCase());
          quoted.push(false);
        } else throw SqlErrors.unexpected(describe(t));
      } else if (this.eatOp('[')) {
        const t = this.next();
        if (t.t === 'num' && Number.isInteger(t.v)) path.push(t.v);
        else if (t.t === 'str') path.push(t.v);
        else throw SqlErrors.unexpected(describe(t));
        quoted.push(true);
        this.wantOp(']');
      } else break;
    }
    return { k: 'col', path, quoted };
  }
}

function describe(t: Tok): string {
  if (t.t === 'end') return 'end of input';
  if (t.t === 'str') return `'${t.v}'`;
  return String(t.v);
}
