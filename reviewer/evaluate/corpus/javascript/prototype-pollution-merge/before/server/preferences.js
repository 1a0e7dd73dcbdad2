const DEFAULTS = Object.freeze({ theme: "light", language: "en", notifications: { email: true } });

export function defaults() {
  return structuredClone(DEFAULTS);
}
