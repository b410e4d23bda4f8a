import { createHmac } from "node:crypto";
import * as bcrypt from "bcryptjs";

/**
 * Basic-auth users as Traefik's `basicAuth.users` reads them (`user:hash`, comma-separated), from `user:password`
 * secrets. The hash is bcrypt (cost 10), which Traefik's htpasswd check accepts as `$2b$`: deliberately slow and
 * salted, so the hash in a container label (visible to anyone who can inspect the container, and in Pulumi state)
 * does not give the password away; apr1 (MD5) and {SHA} are fast enough to brute-force and were not chosen.
 *
 * The salt is derived, not random: HMAC-SHA256 keyed with the secret's value over its stack, scope and name. The
 * label is then identical run to run (a changing label would replace every container on each deploy), differs per
 * stack and secret, changes when the password does, and cannot be precomputed without the password.
 */

export const BCRYPT_COST = 10;
/** bcrypt reads at most 72 bytes of a password: a longer one would silently accept anything sharing its start. */
const BCRYPT_MAX_BYTES = 72;

const cache = new Map<string, string>();

/** Why a secret's value cannot be a basic-auth user, or undefined; never quotes the value. */
export function credentialProblem(credential: string): string | undefined {
  const colon = credential.indexOf(":");
  const user = credential.slice(0, colon);
  const password = credential.slice(colon + 1);
  if (colon < 1 || password === "" || /[,\s]/.test(user)) return "must be <user>:<password> (a user without ',', ':' or spaces, and a password)";
  if (Buffer.byteLength(password) > BCRYPT_MAX_BYTES) return `has a password longer than bcrypt's ${BCRYPT_MAX_BYTES} bytes`;
  return undefined;
}

/** One `user:hash` entry. `where` names the secret in errors, which never include its value. */
export function htpasswdEntry(credential: string, saltContext: string, where: string): string {
  const key = `${saltContext}\n${credential}`;
  const cached = cache.get(key);
  if (cached !== undefined) return cached;
  // Validation refuses such values before anything is declared; this guards values it could not see (generated).
  const problem = credentialProblem(credential);
  if (problem) throw new Error(`${where}: ${problem}`);
  const colon = credential.indexOf(":");
  const user = credential.slice(0, colon);
  const password = credential.slice(colon + 1);
  const digest = createHmac("sha256", credential).update(saltContext).digest().subarray(0, 16);
  const salt = `$2b$${BCRYPT_COST}$${bcrypt.encodeBase64(digest, 16)}`;
  const entry = `${user}:${bcrypt.hashSync(password, salt)}`;
  cache.set(key, entry);
  return entry;
}
