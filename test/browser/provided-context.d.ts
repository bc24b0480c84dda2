// What test/browser/global-setup.ts hands the browser tests.
declare module "vitest" {
  export interface ProvidedContext {
    appUrl: string;
    appDatabaseUrl: string;
  }
}

export {};
