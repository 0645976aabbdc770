/**
 * What a bucket's lifecycle rules say of one object, version or upload, and when (pure: the
 * sweep in ./lifecycle.ts acts on it, and GET/HEAD/PUT answer x-amz-expiration from it).
 *
 * S3's arithmetic: an action "after N days" is due at the object's creation time (for a
 * noncurrent version, the time it became noncurrent; for an upload, its initiation) plus N days,
 * rounded up to the next midnight UTC; an action on a date is due from that date. Only enabled
 * rules count; a rule's filter (prefix, tags, sizes, or all of them under And) must match.
 */
import { randomBytes } from 'node:crypto';
import type { Rules } from '../../models/generated/s3.js';

export type Rule = Rules[number];

export interface Subject {
  key: string;
  size: number;
  tags?: { Key: string; Value: string }[];
}

const DAY_MS = 86_400_000;

/** `from` plus `days`, rounded up to the next midnight UTC. */
export function dueAfterDays(from: string | Date, days: number): Date {
  const t = new Date(from).getTime() + days * DAY_MS;
  return new Date(Math.ceil(t / DAY_MS) * DAY_MS);
}

export function enabled(rules: Rules): Rule[] {
  return rules.filter((r) => r.Status === 'Enabled');
}

export function matches(rule: Rule, o: Subject): boolean {
  const f = rule.Filter;
  const prefix = rule.Prefix ?? f?.Prefix ?? f?.And?.Prefix ?? '';
  if (!o.key.startsWith(prefix)) return false;
  const wanted = [...(f?.Tag ? [f.Tag] : []), ...(f?.And?.Tags ?? [])];
  if (!wanted.every((t) => (o.tags ?? []).some((h) => h.Key === t.Key && h.Value === t.Value))) return false;
  const greater = f?.ObjectSizeGreaterThan ?? f?.And?.ObjectSizeGreaterThan;
  const less = f?.ObjectSizeLessThan ?? f?.And?.ObjectSizeLessThan;
  if (greater !== undefined && !(o.size > greater)) return false;
  if (less !== undefined && !(o.size < less)) return false;
  return true;
}

/** Whether a rule filters on tags or sizes, which uploads (not yet objects) cannot be judged by. */
export function keyOnly(rule: Rule): boolean {
  const f = rule.Filter;
  return !f?.Tag && !f?.And?.Tags?.length && f?.ObjectSizeGreaterThan === undefined && f?.ObjectSizeLessThan === undefined &&
    f?.And?.ObjectSizeGreaterThan === undefined && f?.And?.ObjectSizeLessThan === undefined;
}

/** When the current version `o`, created at `created`, expires, and by which rule: the earliest. */
export function currentExpiry(rules: Rules, o: Subject, created: string): { at: Date; ruleId: string } | undefined {
  let best: { at: Date; ruleId: string } | undefined;
  for (const r of enabled(rules)) {
    const e = r.Expiration;
    if (!e || (e.Days === undefined && e.Date === undefined) || !matches(r, o)) continue;
    const at = e.Days !== undefined ? dueAfterDays(created, e.Days) : new Date(e.Date!);
    if (!best || at < best.at) best = { at, ruleId: r.ID ?? '' };
  }
  return best;
}

/** The storage class the current version should be in at `now` (the latest transition due), if any. */
export function currentClass(rules: Rules, o: Subject, created: string, now: Date): string | undefined {
  let best: { at: Date; cls: string } | undefined;
  for (const r of enabled(rules)) {
    if (!matches(r, o)) continue;
    for (const t of r.Transitions ?? []) {
      const at = t.Days !== undefined ? dueAfterDays(created, t.Days) : new Date(t.Date!);
      if (at <= now && t.StorageClass && (!best || at > best.at)) best = { at, cls: t.StorageClass };
    }
  }
  return best?.cls;
}

/**
 * Whether a noncurrent version expires at `now`: it became noncurrent at `since`, and `newer`
 * noncurrent versions of its key are newer than it (NewerNoncurrentVersions keeps that many).
 */
export function noncurrentExpired(rules: Rules, o: Subject, since: string, newer: number, now: Date): boolean {
  return enabled(rules).some((r) => {
    const e = r.NoncurrentVersionExpiration;
    if (!e?.NoncurrentDays || !matches(r, o)) return false;
    if (e.NewerNoncurrentVersions !== undefined && newer < e.NewerNoncurrentVersions) return false;
    return dueAfterDays(since, e.NoncurrentDays) <= now;
  });
}

/** The storage class a noncurrent version should be in at `now`, if a transition is due. */
export function noncurrentClass(rules: Rules, o: Subject, since: string, newer: number, now: Date): string | undefined {
  let best: { at: Date; cls: string } | undefined;
  for (const r of enabled(rules)) {
    if (!matches(r, o)) continue;
    for (const t of r.NoncurrentVersionTransitions ?? []) {
      if (t.NewerNoncurrentVersions !== undefined && newer < t.NewerNoncurrentVersions) continue;
      const at = dueAfterDays(since, t.NoncurrentDays ?? 0);
      if (at <= now && t.StorageClass && (!best || at > best.at)) best = { at, cls: t.StorageClass };
    }
  }
  return best?.cls;
}

/** Whether a delete marker that is all that is left of its key goes (ExpiredObjectDeleteMarker, or any Days expiration). */
export function loneMarkerExpires(rules: Rules, key: string): boolean {
  return enabled(rules).some((r) => matches(r, { key, size: 0 }) && (r.Expiration?.ExpiredObjectDeleteMarker === true || r.Expiration?.Days !== undefined));
}

/** Whether an incomplete upload initiated at `initiated` is aborted at `now`. */
export function uploadAborted(rules: Rules, key: string, initiated: string, now: Date): boolean {
  return enabled(rules).some((r) => {
    const days = r.AbortIncompleteMultipartUpload?.DaysAfterInitiation;
    return days !== undefined && keyOnly(r) && matches(r, { key, size: 0 }) && dueAfterDays(initiated, days) <= now;
  });
}

/** The x-amz-expiration header: `expiry-date="Fri, 23 Dec 2012 00:00:00 GMT", rule-id="…"`. */
export function expirationHeader(e: { at: Date; ruleId: string }): string {
  return `expiry-date="${e.at.toUTCString()}", rule-id="${e.ruleId}"`;
}

/** S3 names a rule sent without an ID with 48 random characters. */
export function withIds(rules: Rules): Rules {
  return rules.map((r) => (r.ID === undefined || r.ID === '' ? { ...r, ID: randomBytes(36).toString('base64').replace(/[+/]/g, 'A') } : r));
}
