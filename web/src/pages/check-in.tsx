import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError, api, call, type Schemas } from "../api/client";
import { errorText, useT } from "../i18n";
import { usePath } from "../router";
import { Field, formatDate, PageTitle } from "../ui";

/** One gate check, kept so staff see the last few results while the next people scan. */
interface Check {
  n: number;
  code: string;
  reservation?: Schemas["Reservation"];
  error?: ApiError;
}

const KEEP = 8;

/**
 * The gate. A QR scanner is a keyboard: it types the code and presses Enter, so Enter submits, and
 * the field is emptied and keeps focus at once (before the answer), ready for the next person while
 * the last check is still on its way. Typing a code works the same.
 */
export function CheckInPage() {
  const t = useT();
  const { query } = usePath();
  const [festivalId, setFestivalId] = useState(query.get("festival") ?? "");
  const [code, setCode] = useState("");
  const [checks, setChecks] = useState<Check[]>([]);
  const codeInput = useRef<HTMLInputElement>(null);
  const counter = useRef(0);

  // With the festival known (a link from its page), the scanner can start at once.
  useEffect(() => {
    if (festivalId) codeInput.current?.focus();
  }, []);

  const checkIn = async (raw: string) => {
    const value = raw.trim();
    if (!value) return;
    const check: Check = { n: ++counter.current, code: value };
    try {
      check.reservation = await call(() =>
        api.POST("/v1/festivals/{festivalId}/check-ins", {
          params: { path: { festivalId: Number(festivalId) } },
          body: { code: value },
        }),
      );
    } catch (err) {
      check.error = err instanceof ApiError ? err : new ApiError(0, { code: "unknown" });
    }
    setChecks((prev) => [check, ...prev].slice(0, KEEP));
  };

  const submit = (e: Event) => {
    e.preventDefault();
    const value = code;
    setCode("");
    codeInput.current?.focus();
    void checkIn(value);
  };

  const latest = checks[0];
  const line = (c: Check) =>
    c.reservation
      ? `${t("admin.checkinOk")} ${formatDate(c.reservation.day, t.lang)} · ${c.reservation.quantity}${t.lang === "ko" ? "" : " "}${t("checkin.people")}`
      : errorText(t.lang, c.error ?? {});

  return (
    <section class="narrow">
      <PageTitle>{t("admin.checkin")}</PageTitle>
      <form onSubmit={submit}>
        <Field
          id="ci-festival"
          label="admin.festivalId"
          type="number"
          value={festivalId}
          onInput={setFestivalId}
        />
        <div class="field">
          <label for="ci-code">{t("admin.checkinCode")}</label>
          <input
            id="ci-code"
            ref={codeInput}
            required
            autocomplete="off"
            autocapitalize="characters"
            spellcheck={false}
            aria-describedby="ci-help"
            value={code}
            onInput={(e) => setCode(e.currentTarget.value)}
          />
          <p id="ci-help" class="muted">
            {t("checkin.help")}
          </p>
        </div>
        <button type="submit">{t("admin.checkin")}</button>
      </form>
      <CameraScanner onCode={(c) => void checkIn(c)} />
      {/* Assertive: at a gate the result must be heard before the next person steps up. */}
      <div aria-live="assertive" data-testid="checkin-result">
        {latest && (
          <p class={latest.reservation ? "success" : "error"}>
            {line(latest)} <code>{latest.code}</code>
          </p>
        )}
      </div>
      {checks.length > 1 && (
        <>
          <h2>{t("checkin.recent")}</h2>
          <ol class="checkin-log">
            {checks.slice(1).map((c) => (
              <li key={c.n} class={c.reservation ? "" : "error"}>
                {line(c)} <code>{c.code}</code>
              </li>
            ))}
          </ol>
        </>
      )}
    </section>
  );
}

interface BarcodeDetectorLike {
  detect(source: HTMLVideoElement): Promise<{ rawValue: string }[]>;
}
type BarcodeDetectorCtor = new (opts: { formats: string[] }) => BarcodeDetectorLike;
/** Not in every browser (nor in TypeScript's DOM types): the camera button shows only where it is. */
const Detector = (globalThis as { BarcodeDetector?: BarcodeDetectorCtor }).BarcodeDetector;
/** A code held in front of the camera is seen many times a second: one check per code per this long. */
const SAME_CODE_MS = 3_000;

/** Progressive enhancement: phones with BarcodeDetector scan with the camera; others use the field. */
function CameraScanner(props: { onCode: (code: string) => void }) {
  const t = useT();
  const [on, setOn] = useState(false);
  const [failed, setFailed] = useState(false);
  const video = useRef<HTMLVideoElement>(null);
  const onCode = useRef(props.onCode);
  onCode.current = props.onCode;

  useEffect(() => {
    if (!on || !Detector) return;
    const detector = new Detector({ formats: ["qr_code"] });
    let stopped = false;
    let stream: MediaStream | undefined;
    let last = { code: "", at: 0 };
    (async () => {
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
      const el = video.current;
      // Turned off while the browser was asking for the camera: give it back at once.
      if (stopped || !el) {
        for (const track of stream.getTracks()) track.stop();
        return;
      }
      el.srcObject = stream;
      await el.play();
      while (!stopped) {
        const code = (await detector.detect(el).catch(() => []))[0]?.rawValue;
        if (code && (code !== last.code || Date.now() - last.at > SAME_CODE_MS)) {
          last = { code, at: Date.now() };
          onCode.current(code);
        }
        await new Promise((r) => setTimeout(r, 200));
      }
    })().catch(() => {
      setFailed(true);
      setOn(false);
    });
    return () => {
      stopped = true;
      for (const track of stream?.getTracks() ?? []) track.stop();
    };
  }, [on]);

  if (!Detector || !navigator.mediaDevices?.getUserMedia) return null;
  return (
    <div class="scanner">
      <button type="button" class="secondary" aria-pressed={on} onClick={() => setOn(!on)}>
        {on ? t("checkin.cameraStop") : t("checkin.camera")}
      </button>
      {on && <video ref={video} muted playsInline aria-label={t("checkin.cameraView")} />}
      {failed && (
        <p class="error" role="alert">
          {t("checkin.cameraError")}
        </p>
      )}
    </div>
  );
}
