// What the vitest global setup hands to the Workers-pool tests (see test/global-setup.ts).
import "vitest";

declare module "vitest" {
  export interface ProvidedContext {
    bindings: Record<string, string>;
    controlUrl: string;
  }
}
