export * from "./auth.js";
export * from "./client.js";
export * from "./errors.js";
export * from "./retry.js";
export * from "./stream.js";
export type { components, paths } from "./schema.js";
