/**
 * EC2's DryRun: a call that would succeed answers DryRunOperation (412) and changes nothing.
 * Handlers call this after validating their input and before writing anything.
 */
import { CommonErrors } from '../protocol/errors.js';

export function checkDryRun(input: { DryRun?: boolean }): void {
  if (input.DryRun) throw CommonErrors.dryRun();
}
