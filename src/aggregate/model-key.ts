/**
 * A model's identity as one string, "predictor/model" with the parts percent-encoded where they would
 * break a Redis key or a hash tag (":", "/", "{", "}", "%", whitespace). The same everywhere: state keys,
 * join records, leases, alert states.
 */
export function escapeKeyPart(part: string): string {
  return part.replace(/[%:/{}\s]/g, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

export function unescapeKeyPart(part: string): string {
  return decodeURIComponent(part);
}

export function modelKey(predictor: string, model: string): string {
  return `${escapeKeyPart(predictor)}/${escapeKeyPart(model)}`;
}
