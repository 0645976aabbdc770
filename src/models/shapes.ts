/**
 * The subset of the AWS JSON API model format (as shipped in the aws-sdk v2 package's `apis/`
 * folder, minified) that kumo's codecs walk. A member is a shape reference plus serialization
 * traits; `resolveShape` merges the two so codecs only ever see complete shapes.
 */
export type ShapeType =
  | 'structure'
  | 'list'
  | 'map'
  | 'string'
  | 'integer'
  | 'long'
  | 'float'
  | 'double'
  | 'boolean'
  | 'timestamp'
  | 'blob';

export interface Shape {
  type?: ShapeType; // absent means string in the minified models
  shape?: string;
  members?: Record<string, Shape>;
  member?: Shape;
  key?: Shape;
  value?: Shape;
  required?: string[];
  locationName?: string;
  queryName?: string;
  flattened?: boolean;
  location?: 'uri' | 'querystring' | 'header' | 'headers' | 'statusCode';
  payload?: string;
  streaming?: boolean;
  timestampFormat?: 'iso8601' | 'rfc822' | 'unixTimestamp';
  xmlAttribute?: boolean;
  xmlNamespace?: { uri: string; prefix?: string };
  resultWrapper?: string;
  enum?: string[];
  min?: number;
  max?: number;
  [extra: string]: unknown;
}

export interface Operation {
  name: string;
  http?: { method?: string; requestUri?: string; responseCode?: number };
  input?: Shape;
  output?: Shape;
}

export interface ServiceMetadata {
  apiVersion: string;
  endpointPrefix: string;
  protocol: 'ec2' | 'query' | 'rest-xml' | 'json' | 'rest-json';
  serviceId: string;
  uid: string;
  xmlNamespace?: string;
  signingName?: string;
  /** json family: `X-Amz-Target` is `<targetPrefix>.<Operation>`; the body is JSON `jsonVersion`. */
  targetPrefix?: string;
  jsonVersion?: string;
}

export interface ServiceModel {
  metadata: ServiceMetadata;
  operations: Record<string, Operation>;
  shapes: Record<string, Shape>;
}

export function shapeType(s: Shape): ShapeType {
  return s.type ?? 'string';
}
