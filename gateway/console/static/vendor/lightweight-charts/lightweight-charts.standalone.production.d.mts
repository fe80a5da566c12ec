// Types of the vendored file, for the console's type check (clients/typescript, tsconfig.console).
export * from "lightweight-charts";
