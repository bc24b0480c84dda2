import type { ComponentChildren } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError } from "./api/client";
import { errorText, type MessageKey, useT } from "./i18n";

/** The page title takes focus after navigation, so screen readers announce the new page. */
export function PageTitle(props: { children: ComponentChildren }) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => ref.current?.focus(), []);
  return (
    <h1 ref={ref} tabIndex={-1}>
      {props.children}
    </h1>
  );
}

/** An API error as a sentence in the user's language, announced by screen readers. */
export function ErrorNote(props: { error: unknown }) {
  const t = useT();
  if (!props.error) return null;
  const err =
    props.error instanceof ApiError ? props.error : { code: "unknown", message: undefined, fields: [] };
  return (
    <p class="error" role="alert">
      {errorText(t.lang, err)}
      {err.fields.length > 0 && ` (${err.fields.join(", ")})`}
    </p>
  );
}

/** Loads data for a page; `reload` runs it again (after a write, or on a timer). */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]) {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [version, setVersion] = useState(0);
  useEffect(() => {
    let live = true;
    load().then(
      (d) => {
        if (!live) return;
        setData(d);
        setError(undefined);
      },
      (e: unknown) => live && setError(e),
    );
    return () => {
      live = false;
    };
  }, [...deps, version]);
  return { data, error, reload: () => setVersion((v) => v + 1) };
}

export const formatDate = (iso: string, lang: string) =>
  new Date(iso.length === 10 ? `${iso}T00:00:00` : iso).toLocaleDateString(
    lang === "ko" ? "ko-KR" : "en-GB",
    {
      year: "numeric",
      month: "short",
      day: "numeric",
      weekday: "short",
    },
  );

export const formatDateTime = (iso: string, lang: string) =>
  new Date(iso).toLocaleString(lang === "ko" ? "ko-KR" : "en-GB", {
    dateStyle: "medium",
    timeStyle: "short",
  });

/** datetime-local wants local "YYYY-MM-DDTHH:mm". */
export const localInput = (d: Date) =>
  new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);

/** A labelled input: every form control has a visible label screen readers read. */
export function Field(props: {
  id: string;
  label: MessageKey;
  value: string;
  onInput: (v: string) => void;
  type?: "text" | "number" | "date" | "datetime-local";
  required?: boolean;
}) {
  const t = useT();
  return (
    <div class="field">
      <label for={props.id}>{t(props.label)}</label>
      <input
        id={props.id}
        // Preact types each input type separately; a union of them does not narrow, so name one.
        type={(props.type ?? "text") as "text"}
        required={props.required ?? true}
        value={props.value}
        onInput={(e) => props.onInput(e.currentTarget.value)}
      />
    </div>
  );
}
