/** STS answers authentication failures the query way. */
import { QUERY_AUTH_ERRORS } from '../service.js';

export const stsAuthErrors = QUERY_AUTH_ERRORS;
