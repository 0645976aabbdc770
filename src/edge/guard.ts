/**
 * Listeners that keep a request's streams from ending the process. A stream that emits 'error'
 * with nobody listening throws from the event loop, and in a server that is anyone's to trigger:
 * a client hanging up mid-request, or a body that fails its check after the request was already
 * answered without reading it. Errors a client causes are expected and dropped; anything else is
 * kumo's own bug, logged so it is seen.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { isAwsError } from '../protocol/errors.js';

/** Errors that only say the client went away (reset, closed early, stopped reading). */
export function isClientGone(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ECONNRESET' || code === 'EPIPE' || code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'ERR_STREAM_DESTROYED';
}

export function guardExchange(x: { req: IncomingMessage; res: ServerResponse }, report: (what: string, e: unknown) => void): void {
  x.req.on('error', (e) => {
    if (!isClientGone(e)) report('request stream error', e);
  });
  x.res.on('error', (e) => {
    if (!isClientGone(e)) report('response stream error', e);
    x.res.destroy();
  });
}

/**
 * The body a handler may or may not read. A handler that reads it sees its failure through its
 * own pipeline; one that refuses the request first (or needs no body) never does, and then the
 * failure is the client's (a hash or chunk signature that does not match) and changes nothing.
 */
export function guardBody(body: Readable, report: (what: string, e: unknown) => void): void {
  body.on('error', (e) => {
    if (!isAwsError(e) && !isClientGone(e)) report('request body error', e);
  });
}
