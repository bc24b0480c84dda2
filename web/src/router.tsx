import type { ComponentChildren } from "preact";
import { createStore, useStore } from "./store";

/** History-API routing: the Worker answers unknown paths with index.html, so deep links work. */
export const pathStore = createStore(location.pathname + location.search);

export function navigate(to: string, replace = false) {
  if (replace) history.replaceState(null, "", to);
  else history.pushState(null, "", to);
  pathStore.set(location.pathname + location.search);
  window.scrollTo(0, 0);
}

addEventListener("popstate", () => pathStore.set(location.pathname + location.search));

export function usePath(): { path: string; query: URLSearchParams } {
  const full = useStore(pathStore);
  const [path = "/", search = ""] = full.split("?");
  return { path, query: new URLSearchParams(search) };
}

/** Matches "/festivals/:id" style patterns; returns the named parts or undefined. */
export function match(pattern: string, path: string): Record<string, string> | undefined {
  const want = pattern.split("/");
  const got = path.replace(/\/$/, "").split("/");
  if (path === "/" && pattern === "/") return {};
  if (want.length !== got.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const w = want[i] as string;
    const g = decodeURIComponent(got[i] as string);
    if (w.startsWith(":")) params[w.slice(1)] = g;
    else if (w !== g) return undefined;
  }
  return params;
}

export function Link(props: { href: string; class?: string; children: ComponentChildren }) {
  return (
    <a
      href={props.href}
      class={props.class}
      onClick={(e) => {
        if (e.metaKey || e.ctrlKey || e.shiftKey || e.button !== 0) return;
        e.preventDefault();
        navigate(props.href);
      }}
    >
      {props.children}
    </a>
  );
}
