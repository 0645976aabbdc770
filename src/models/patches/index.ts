/**
 * Corrections to AWS's models, as data. The minified models in the aws-sdk package drop some
 * serialization details the full Smithy models carry (chiefly the XML names of S3's output
 * roots); each patch is deep-merged into the model when it is loaded.
 */
import { s3Patch } from './s3.js';

export interface ModelPatch {
  operations?: Record<string, unknown>;
  shapes?: Record<string, unknown>;
  metadata?: Record<string, unknown>;
}

export const patches: Record<string, ModelPatch> = {
  's3-2006-03-01': s3Patch,
};
