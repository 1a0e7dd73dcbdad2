const DEFAULTS = Object.freeze({ theme: "light", language: "en", notifications: { email: true } });

export function defaults() {
  return structuredClone(DEFAULTS);
}

function deepMerge(target, source) {
  for (const key of Object.keys(source)) {
    if (typeof source[key] === "object" && source[key] !== null) {
      target[key] = deepMerge(target[key] ?? {}, source[key]);
    } else {
      target[key] = source[key];
    }
  }
  return target;
}

export function preferencesFor(body) {
  return deepMerge(defaults(), JSON.parse(body));
}
