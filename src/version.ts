/** kumo's version, reported by /_kumo/health and `kumo --version`. */
export const VERSION = '0.1.0';
