/** Every resource belongs to an account and a region; stores take a Scope on every query. */
export interface Scope {
  account: string;
  region: string;
}
